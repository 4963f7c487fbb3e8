//! Silent network faults for the tests: a TCP relay of the test's own in front of an engine
//! (so a rule can cut the console's path only) and iptables rules that drop packets, each
//! tagged with a comment of its own and removed by that tag, also when a test fails.
//!
//! Use with `#[path = "support/netfault.rs"] mod netfault;`.
#![allow(dead_code)]

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::Command;

/// Relays every connection on a loopback port of its own to `to` (`host:port`); returns the
/// port.
pub fn relay(to: &str) -> u16 {
    let to = to.to_string();
    relay_with(move || TcpStream::connect(&to).map(Side::Tcp))
}

/// As `relay`, to a Unix socket (a dockerd's): the console reaches it over TCP, which a rule
/// can drop.
pub fn relay_to_unix(path: &str) -> u16 {
    let path = path.trim_start_matches("unix://").to_string();
    relay_with(move || UnixStream::connect(&path).map(Side::Unix))
}

enum Side {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Side {
    fn halves(&self) -> io::Result<(Box<dyn io::Read + Send>, Box<dyn io::Write + Send>)> {
        Ok(match self {
            Side::Tcp(s) => (Box::new(s.try_clone()?), Box::new(s.try_clone()?)),
            Side::Unix(s) => (Box::new(s.try_clone()?), Box::new(s.try_clone()?)),
        })
    }
}

fn relay_with(connect: impl Fn() -> io::Result<Side> + Send + 'static) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            let Ok(server) = connect() else {
                continue;
            };
            let (Ok(c_in), Ok(c_out), Ok((mut s_in, mut s_out))) =
                (client.try_clone(), client.try_clone(), server.halves())
            else {
                continue;
            };
            let mut c_in = c_in;
            std::thread::spawn(move || {
                let _ = io::copy(&mut c_in, &mut s_out);
                drop(s_out);
            });
            std::thread::spawn(move || {
                let mut c_out = c_out;
                let _ = io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

/// Drops every packet that reaches local TCP `port` (the relay's, or an engine's own).
pub struct DropRule {
    spec: Vec<String>,
}

impl DropRule {
    pub fn install(port: u16, tag: &str) -> DropRule {
        let tag = format!("cd-test-{tag}-{}", std::process::id());
        let spec: Vec<String> = [
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            &port.to_string(),
            "-m",
            "comment",
            "--comment",
            &tag,
            "-j",
            "DROP",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let ok = Command::new("iptables")
            .arg("-I")
            .args(&spec)
            .status()
            .expect("iptables");
        assert!(ok.success(), "iptables -I {}", spec.join(" "));
        DropRule { spec }
    }

    /// Removes the rule by its tag (as `iptables -D` with the same specification).
    pub fn remove(&mut self) {
        if self.spec.is_empty() {
            return;
        }
        let _ = Command::new("iptables").arg("-D").args(&self.spec).status();
        self.spec.clear();
    }
}

impl Drop for DropRule {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The port of `http://host:port[/…]`.
pub fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}
