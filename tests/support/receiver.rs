//! A small HTTP receiver on loopback for the notification tests: it answers every POST with
//! 200 and keeps the JSON bodies it got, with their headers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Got {
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

pub struct Receiver {
    pub port: u16,
    pub got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let keep = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut headers = Vec::new();
                let mut len = 0usize;
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                        if k == "content-length" {
                            len = v.parse().unwrap_or(0);
                        }
                        headers.push((k, v));
                    }
                }
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_ok()
                    && let Ok(body) = serde_json::from_slice(&body)
                {
                    keep.lock().expect("lock").push(Got { headers, body });
                }
                let mut s = stream;
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Receiver { port, got }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/incident", self.port)
    }

    /// The bodies with this transition and kind.
    pub fn bodies(&self, transition: &str, kind: &str) -> Vec<Got> {
        self.got
            .lock()
            .expect("lock")
            .iter()
            .filter(|g| g.body["transition"] == transition && g.body["kind"] == kind)
            .cloned()
            .collect()
    }
}
