//! The incident timeline: cluster events, incidents (opened, escalated, acknowledged, noted,
//! resolved) and the console's actions, in one JSON Lines file shared by the consoles and the
//! wall of one host, so a restarted console or a second operator sees the same recent history
//! and `clusterdeck timeline` can write the postmortem.
//!
//! Bounded: entries older than the retention, and the oldest beyond the size cap, are dropped by
//! compaction (under an exclusive lock on `<file>.lock`; appends take it shared). Writes are
//! buffered and flushed at most once a second, in one append, and not at all while idle.
//! Group-writable (0660, with the configured group) so the operators of one host share it.

pub mod export;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Time;

/// What a timeline entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum What {
    /// A cluster event (what the engine reported).
    Event,
    Opened,
    Escalated,
    Resolved,
    Ack,
    Note,
    /// An action of a console: intent and outcome.
    Action,
}

impl What {
    pub fn label(self) -> &'static str {
        match self {
            What::Event => "event",
            What::Opened => "opened",
            What::Escalated => "escalated",
            What::Resolved => "resolved",
            What::Ack => "ack",
            What::Note => "note",
            What::Action => "action",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Time,
    pub context: String,
    pub what: What,
    /// The person, for acks, notes and actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    /// The incident's key (`context/kind`) for incident entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub object: String,
    pub text: String,
}

/// Where and how much (`[timeline]` in the config).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineConfig {
    /// None: `<state dir>/timeline.jsonl`.
    pub path: Option<PathBuf>,
    pub keep_secs: u64,
    pub max_bytes: u64,
    /// The group that shares it (files 0660).
    pub group: Option<String>,
}

impl Default for TimelineConfig {
    fn default() -> Self {
        TimelineConfig {
            path: None,
            keep_secs: 24 * 3600,
            max_bytes: 16 * 1024 * 1024,
            group: None,
        }
    }
}

pub struct Timeline {
    path: PathBuf,
    keep: chrono::Duration,
    max_bytes: u64,
    group: Option<u32>,
    pending: Vec<Entry>,
    /// Where the next unread byte is, in the file with inode `ino`.
    read_at: u64,
    ino: u64,
    /// Why the last write failed, while it does (shown in the header).
    pub error: Option<String>,
}

impl Timeline {
    /// Opens (creating) the file. Nothing is read yet: `poll` returns the whole retained history
    /// the first time.
    pub fn open(
        path: impl Into<PathBuf>,
        keep_secs: u64,
        max_bytes: u64,
        group: Option<u32>,
    ) -> io::Result<Timeline> {
        let path = path.into();
        let t = Timeline {
            path,
            keep: chrono::Duration::seconds(keep_secs as i64),
            max_bytes: max_bytes.max(4096),
            group,
            pending: Vec::new(),
            read_at: 0,
            ino: 0,
            error: None,
        };
        t.create()?;
        Ok(t)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn create(&self) -> io::Result<File> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o660)
            .open(&self.path)?;
        let meta = f.metadata()?;
        // Only the owner sets mode and group (the umask may have narrowed the mode).
        if meta.uid() == real_uid() {
            if meta.mode() & 0o777 != 0o660 {
                f.set_permissions(std::fs::Permissions::from_mode(0o660))?;
            }
            if let Some(gid) = self.group.filter(|g| *g != meta.gid()) {
                std::os::unix::fs::chown(&self.path, None, Some(gid))?;
            }
        }
        Ok(f)
    }

    /// Buffers an entry; `flush` writes it.
    pub fn record(&mut self, e: Entry) {
        self.pending.push(e);
    }

    /// Entries waiting to be written.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Writes what is buffered in one append (nothing when idle), then compacts when the file
    /// outgrew its cap. A failure keeps the entries for the next try (bounded) and says why.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for e in &self.pending {
            if let Ok(line) = serde_json::to_vec(e) {
                buf.extend_from_slice(&line);
                buf.push(b'\n');
            }
        }
        let r = self.append(&buf);
        match &r {
            Ok(size) => {
                self.pending.clear();
                self.error = None;
                if *size > self.max_bytes {
                    self.compact(chrono::Utc::now())?;
                }
            }
            Err(e) => {
                self.error = Some(format!("timeline {}: {e}", self.path.display()));
                // Keep the newest while the file cannot be written.
                if self.pending.len() > 10_000 {
                    let cut = self.pending.len() - 10_000;
                    self.pending.drain(..cut);
                }
            }
        }
        r.map(|_| ())
    }

    fn append(&self, buf: &[u8]) -> io::Result<u64> {
        let lock = self.lock_file()?;
        lock.lock_shared()?;
        let mut f = self.create()?;
        f.write_all(buf)?;
        Ok(f.metadata()?.len())
    }

    fn lock_file(&self) -> io::Result<File> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o660)
            .open(PathBuf::from(name))
    }

    /// Drops entries older than the retention, then the oldest until under half the cap.
    pub fn compact(&mut self, now: Time) -> io::Result<()> {
        let lock = self.lock_file()?;
        lock.lock()?;
        let mut entries = read_entries(&self.path)?;
        entries.retain(|e| now - e.at <= self.keep);
        let mut lines: Vec<Vec<u8>> = entries
            .iter()
            .filter_map(|e| serde_json::to_vec(e).ok())
            .collect();
        let mut total: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
        let mut drop = 0;
        while total > self.max_bytes / 2 && drop < lines.len() {
            total -= lines[drop].len() as u64 + 1;
            drop += 1;
        }
        lines.drain(..drop);
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        {
            let mut f = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o660)
                .open(&tmp)?;
            for l in &lines {
                f.write_all(l)?;
                f.write_all(b"\n")?;
            }
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        self.create()?;
        Ok(())
    }

    /// Entries appended since the last poll, by any process on this host (this one too). After
    /// a compaction (a new file) it starts again from the beginning: readers apply entries
    /// idempotently.
    pub fn poll(&mut self) -> Vec<Entry> {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            return Vec::new();
        };
        if meta.ino() != self.ino || meta.len() < self.read_at {
            self.ino = meta.ino();
            self.read_at = 0;
        }
        if meta.len() == self.read_at {
            return Vec::new();
        }
        let Ok(mut f) = File::open(&self.path) else {
            return Vec::new();
        };
        if f.seek(SeekFrom::Start(self.read_at)).is_err() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut reader = BufReader::new(f);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                // A line still being written is read next time.
                Ok(n) if n > 0 && line.ends_with('\n') => {
                    self.read_at += n as u64;
                    if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                        out.push(e);
                    }
                }
                _ => break,
            }
        }
        out
    }
}

/// Every readable entry of a timeline file, in file order (unreadable lines skipped).
pub fn read_entries(path: &Path) -> io::Result<Vec<Entry>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect())
}

fn real_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests;
