//! Image references as Docker reads them, for the one rule that matters at deploy time: an
//! image must name its version (a tag other than `latest`, or a digest).

/// `[registry[:port]/]path[:tag][@digest]`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

pub fn parse(image: &str) -> Reference {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    // A `:` after the last `/` starts the tag; one before it is a registry's port.
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => Reference {
            name: rest[..slash + i].to_string(),
            tag: Some(rest[slash + i + 1..].to_string()),
            digest,
        },
        None => Reference {
            name: rest.to_string(),
            tag: None,
            digest,
        },
    }
}

/// Why an image does not pin a version, or `None` when it does.
pub fn unpinned(image: &str) -> Option<String> {
    let r = parse(image);
    match r.digest.as_deref() {
        Some("") => return Some(format!("{image} has an empty digest (an empty variable?)")),
        Some(_) => return None,
        None => {}
    }
    match r.tag.as_deref() {
        None => Some(format!(
            "{image} names no tag: Docker would deploy `latest`"
        )),
        Some("") => Some(format!("{image} has an empty tag (an empty variable?)")),
        Some("latest") => Some(format!("{image} is `latest`, which names no version")),
        Some(_) => None,
    }
}

/// The reference without its digest: what `com.docker.stack.image` keeps.
pub fn without_digest(image: &str) -> &str {
    image.split_once('@').map_or(image, |(r, _)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_ports_and_digests() {
        assert_eq!(parse("10.99.1.1:5000/demo/app").tag, None);
        assert_eq!(parse("10.99.1.1:5000/demo/app:2").tag.as_deref(), Some("2"));
        assert_eq!(
            parse("busybox:1@sha256:ab").digest.as_deref(),
            Some("sha256:ab")
        );
        assert!(unpinned("10.99.1.1:5000/demo/app").is_some());
        assert!(unpinned("app:latest").is_some());
        assert!(unpinned("app:").is_some());
        assert!(unpinned("app@sha256:ab").is_none());
        assert!(unpinned("app:3").is_none());
        assert_eq!(without_digest("app:3@sha256:ab"), "app:3");
    }
}
