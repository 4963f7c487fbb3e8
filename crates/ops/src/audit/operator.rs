/// Who is at the keyboard: OS user, SSH client address, tty, host.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    pub user: String,
    pub ssh_client: Option<String>,
    pub tty: Option<String>,
    pub host: String,
}

impl Operator {
    pub fn current() -> Operator {
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(passwd_name);
        let ssh_client = std::env::var("SSH_CLIENT")
            .or_else(|_| std::env::var("SSH_CONNECTION"))
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_string));
        Operator {
            user,
            ssh_client,
            tty: tty_name(),
            host: host_name(),
        }
    }
}

/// The login name of the real uid, for sessions without `$USER` (cron, `su -c`, tmux).
fn passwd_name() -> String {
    // SAFETY: getpwuid returns a pointer into static storage or null; copied out at once.
    unsafe {
        let uid = libc::getuid();
        let pw = libc::getpwuid(uid);
        if pw.is_null() || (*pw).pw_name.is_null() {
            format!("uid:{uid}")
        } else {
            std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned()
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
