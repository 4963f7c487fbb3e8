//! The pieces of Jenkins' remote API this crate speaks: URLs of jobs, queue items and builds,
//! and the JSON it answers with.

use serde::Deserialize;

/// `url` checked (http or https, a host, no query) and without a trailing `/`.
pub(crate) fn base_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim_end_matches('/');
    let uri: hyper::Uri = trimmed
        .parse()
        .map_err(|e| format!("jenkins.url: {url:?} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(format!(
                "jenkins.url: {url:?} must start with http:// or https://"
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("jenkins.url: {url:?} has no host"));
    }
    if uri.query().is_some() {
        return Err(format!("jenkins.url: {url:?} must not have a query"));
    }
    Ok(trimmed.to_string())
}

/// The URL path of job `job` ("folder/sub/job" → "/job/folder/job/sub/job/job"), each name
/// percent-encoded.
pub(crate) fn job_path(job: &str) -> Result<String, String> {
    if job.is_empty() {
        return Err("jenkins.job: empty".into());
    }
    let mut path = String::new();
    for name in job.split('/') {
        if name.is_empty() {
            return Err(format!(
                "jenkins.job: {job:?} has an empty folder or job name (write folder/sub/job)"
            ));
        }
        path.push_str("/job/");
        path.push_str(&encode_segment(name));
    }
    Ok(path)
}

/// A path segment percent-encoded: everything but RFC 3986's unreserved characters (a space
/// becomes `%20`, never `+`, which a path keeps as a plus).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The queue item's number in the `Location` Jenkins answers a trigger with
/// (`…/queue/item/123/`).
pub(crate) fn queue_id(location: &str) -> Option<u64> {
    let (_, rest) = location.rsplit_once("/queue/item/")?;
    rest.trim_end_matches('/').parse().ok()
}

/// `crumbIssuer/api/json`.
#[derive(Debug, Deserialize)]
pub(crate) struct Crumb {
    pub crumb: String,
    #[serde(rename = "crumbRequestField")]
    pub field: String,
}

/// `queue/item/N/api/json`.
#[derive(Debug, Deserialize)]
pub(crate) struct QueueItem {
    #[serde(default)]
    pub why: Option<String>,
    #[serde(default)]
    pub cancelled: bool,
    #[serde(default)]
    pub executable: Option<Executable>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Executable {
    pub number: u64,
    #[serde(default)]
    pub url: Option<String>,
}

/// `job/…/N/api/json`.
#[derive(Debug, Deserialize)]
pub(crate) struct Build {
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub building: bool,
}

/// A few words of an error page: its title if it has one (Jetty's error pages repeat it in
/// the body), else its text; tags dropped, blanks collapsed, cut at `max` characters.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let text = title(&text).unwrap_or(&text);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if in_tag => {}
            c if c.is_whitespace() || c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    let words: Vec<&str> = out.split_whitespace().collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &joined[..at]),
        None => joined,
    }
}

fn title(page: &str) -> Option<&str> {
    // ASCII lower-casing keeps every byte where it was: the offsets hold for `page`.
    let lower = page.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    Some(&page[start..end]).filter(|t| !t.trim().is_empty())
}

/// A console line without Jenkins' console notes (`ESC[8mha:…ESC[0m`, hidden markup some
/// versions leave in the plain-text log).
pub(crate) fn strip_notes(line: String) -> String {
    const START: &str = "\u{1b}[8mha:";
    const END: &str = "\u{1b}[0m";
    if !line.contains(START) {
        return line;
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line.as_str();
    while let Some(at) = rest.find(START) {
        out.push_str(&rest[..at]);
        match rest[at..].find(END) {
            Some(end) => rest = &rest[at + end + END.len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            base_url("https://ci.example.com/jenkins/").as_deref(),
            Ok("https://ci.example.com/jenkins")
        );
        assert!(base_url("ci.example.com").is_err());
        assert!(base_url("ftp://ci.example.com").is_err());
        assert!(base_url("http://ci?x=1").is_err());
        assert_eq!(
            job_path("ops/deploy infra/ä").as_deref(),
            Ok("/job/ops/job/deploy%20infra/job/%C3%A4")
        );
        assert!(job_path("a//b").is_err());
        assert!(job_path("").is_err());
        assert_eq!(queue_id("http://h:8080/queue/item/42/"), Some(42));
        assert_eq!(queue_id("http://h/jenkins/queue/item/7"), Some(7));
        assert_eq!(queue_id("http://h/job/x/"), None);
    }

    #[test]
    fn excerpts_and_notes() {
        let page = b"<html><head><TITLE>Error 403 No valid crumb</TITLE></head>\n<body><h2>HTTP ERROR 403 No valid crumb</h2></body></html>";
        assert_eq!(excerpt(page, 100), "Error 403 No valid crumb");
        let untitled = b"<html><body><p>No valid\n crumb</p></body></html>";
        assert_eq!(excerpt(untitled, 100), "No valid crumb");
        assert_eq!(excerpt(b"abcdef", 3), "abc…");
        let noted = "a\u{1b}[8mha:////4ABC=\u{1b}[0mb [Pipeline] sh".to_string();
        assert_eq!(strip_notes(noted), "ab [Pipeline] sh");
    }
}
