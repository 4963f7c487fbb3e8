/// Who is at the keyboard: the real uid and its passwd name (what the kernel says, not what
/// the environment claims), `$USER` beside it when it says otherwise, the SSH client
/// address, the tty and the host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Operator {
    /// The passwd name of the real uid (`uid:N` without an entry).
    pub user: String,
    pub uid: Option<u32>,
    /// `$USER` when it names someone else than `user`: recorded, never trusted.
    pub claimed: Option<String>,
    pub ssh_client: Option<String>,
    pub tty: Option<String>,
    pub host: String,
}

impl Operator {
    pub fn current() -> Operator {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let ssh = std::env::var("SSH_CONNECTION")
            .or_else(|_| std::env::var("SSH_CLIENT"))
            .ok();
        Operator::from_parts(
            uid,
            passwd_name(uid),
            std::env::var("USER").ok(),
            ssh.as_deref(),
            tty_name(),
            host_name(),
        )
    }

    /// The identity from what the process knows; `ssh` is `SSH_CONNECTION` (or `SSH_CLIENT`),
    /// whose first word is the client's address.
    pub fn from_parts(
        uid: u32,
        name: Option<String>,
        env_user: Option<String>,
        ssh: Option<&str>,
        tty: Option<String>,
        host: String,
    ) -> Operator {
        let user = name.unwrap_or_else(|| format!("uid:{uid}"));
        let claimed = env_user.filter(|u| !u.is_empty() && *u != user);
        Operator {
            user,
            uid: Some(uid),
            claimed,
            ssh_client: ssh.and_then(|s| s.split_whitespace().next().map(str::to_string)),
            tty,
            host,
        }
    }
}

/// The passwd name of `uid`, if it has an entry.
fn passwd_name(uid: u32) -> Option<String> {
    // SAFETY: getpwuid returns a pointer into static storage or null; copied out at once.
    unsafe {
        let pw = libc::getpwuid(uid);
        if pw.is_null() || (*pw).pw_name.is_null() {
            None
        } else {
            Some(
                std::ffi::CStr::from_ptr((*pw).pw_name)
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    }
}

fn tty_name() -> Option<String> {
    // SAFETY: ttyname returns a pointer to a static buffer or null; copied out at once.
    unsafe {
        let p = libc::ttyname(0);
        if p.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned())
        }
    }
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_uid_names_the_operator_and_user_is_only_a_claim() {
        let op = Operator::from_parts(
            0,
            Some("root".into()),
            Some("mallory".into()),
            Some("192.0.2.7 52114 10.0.0.5 22"),
            Some("/dev/pts/1".into()),
            "bastion".into(),
        );
        assert_eq!(op.user, "root");
        assert_eq!(op.uid, Some(0));
        assert_eq!(op.claimed.as_deref(), Some("mallory"));
        assert_eq!(op.ssh_client.as_deref(), Some("192.0.2.7"));
        let same = Operator::from_parts(
            1000,
            Some("alice".into()),
            Some("alice".into()),
            None,
            None,
            "h".into(),
        );
        assert_eq!(same.claimed, None);
        let nameless = Operator::from_parts(4242, None, None, None, None, "h".into());
        assert_eq!(nameless.user, "uid:4242");
    }
}
