//! Silent network faults for the tests: a TCP relay of the test's own in front of an engine
//! (so a rule can cut the console's path only) and iptables rules that drop packets, each
//! tagged with a comment of its own and removed by that tag, also when a test fails.
//!
//! Use with `#[path = "support/netfault.rs"] mod netfault;`.
#![allow(dead_code)]

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;

/// Relays every connection on a loopback port of its own to `to` (`host:port`); returns the
/// port.
pub fn relay(to: &str) -> u16 {
    let to = to.to_string();
    let l = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let port = l.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&to) else {
                continue;
            };
            let pipe = |mut from: TcpStream, mut to: TcpStream| {
                std::thread::spawn(move || {
                    let _ = io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Both);
                });
            };
            if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                pipe(client, s2);
                pipe(server, c2);
            }
        }
    });
    port
}

/// Drops every packet that reaches local TCP `port` (the relay's, or an engine's own).
pub struct DropRule {
    spec: Vec<String>,
}

impl DropRule {
    /// Drops what reaches local TCP `port` (loopback traffic passes INPUT).
    pub fn install(port: u16, tag: &str) -> DropRule {
        DropRule::with(&["INPUT"], port, tag)
    }

    /// Drops what this host sends to `addr:port` (an engine in a network namespace).
    pub fn install_to(addr: &str, port: u16, tag: &str) -> DropRule {
        DropRule::with(&["OUTPUT", "-d", addr], port, tag)
    }

    fn with(head: &[&str], port: u16, tag: &str) -> DropRule {
        let tag = format!("cd-test-{tag}-{}", std::process::id());
        let port = port.to_string();
        let tail = [
            "-p",
            "tcp",
            "--dport",
            &port,
            "-m",
            "comment",
            "--comment",
            &tag,
            "-j",
            "DROP",
        ];
        let spec: Vec<String> = head
            .iter()
            .chain(tail.iter())
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
