//! Appending and reading. Every append holds an exclusive `flock` on `<log>.lock` (a file that
//! is never rotated, so writers agree on one lock whatever the rotation did), reads the last
//! record for its hash and sequence, rotates by size, writes one line and `fsync`s. A write
//! that fails is cut back, so a refused action leaves no partial line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::anchor::{self, Anchor};
use super::record::{AuditRecord, GENESIS, sha256_hex};

/// Records re-read under the lock by `append_unless`.
const RECHECK_WINDOW: usize = 5000;

/// Default rotation size.
pub const DEFAULT_ROTATE_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
    rotate_bytes: u64,
    group: Option<u32>,
}

/// Holds an exclusive advisory lock for the life of the value.
struct Locked(File);

impl Locked {
    fn acquire(path: &Path, mode: u32) -> io::Result<Locked> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(mode)
            .open(path)?;
        // SAFETY: flock on an fd we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Locked(file))
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: unlocking the fd we locked; closing would release it anyway.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Rotated files of `path`, oldest first: `audit.jsonl.000001`, `audit.jsonl.000002`…
pub fn rotated_files(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let mut found: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let num = n.strip_prefix(&prefix)?;
            (num.len() == 6 && num.bytes().all(|b| b.is_ascii_digit()))
                .then(|| num.parse::<u64>().ok())
                .flatten()
                .map(|k| (k, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog {
            path: path.into(),
            rotate_bytes: DEFAULT_ROTATE_BYTES,
            group: None,
        }
    }

    /// Rotate when the live file reaches this size (0: never).
    pub fn with_rotation(mut self, bytes: u64) -> AuditLog {
        self.rotate_bytes = bytes;
        self
    }

    /// Let this group read the log (files 0640, directory 0750).
    pub fn with_group(mut self, gid: Option<u32>) -> AuditLog {
        self.group = gid;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file_mode(&self) -> u32 {
        if self.group.is_some() { 0o640 } else { 0o600 }
    }

    fn lock_path(&self) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(".lock");
        PathBuf::from(s)
    }

    /// Every file of the chain, oldest first (rotated files, then the live one if present).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut v = rotated_files(&self.path);
        if self.path.exists() {
            v.push(self.path.clone());
        }
        v
    }

    fn ensure_dir(&self) -> io::Result<()> {
        if let Some(dir) = self.path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            let mode = if self.group.is_some() { 0o750 } else { 0o700 };
            fs::DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(dir)?;
        }
        Ok(())
    }

    /// An existing log must not be open to more than configured, nor belong to someone who
    /// is neither this user nor the audit group (a planted file).
    fn check_existing(&self, file: &File) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata()?;
        let mode = m.mode() & 0o777;
        let allowed = self.file_mode();
        if mode & !allowed != 0 {
            return Err(io::Error::other(format!(
                "{} has mode {mode:04o}, wider than the {allowed:04o} configured; \
                 `chmod {allowed:o} {}` (or set audit.group to share it)",
                self.path.display(),
                self.path.display()
            )));
        }
        // SAFETY: getuid cannot fail.
        let me = unsafe { libc::getuid() };
        if m.uid() != me && self.group != Some(m.gid()) {
            return Err(io::Error::other(format!(
                "{} belongs to uid {} and group {}, neither you nor the configured audit group",
                self.path.display(),
                m.uid(),
                m.gid()
            )));
        }
        Ok(())
    }

    fn set_group(&self, path: &Path) -> io::Result<()> {
        if let Some(gid) = self.group {
            std::os::unix::fs::chown(path, None, Some(gid))?;
        }
        Ok(())
    }

    /// Appends one record durably, filling in `seq`, `prev_sha256` and `sha256`. Fails
    /// closed: an error here means the caller must not run the action.
    pub fn append(&self, record: AuditRecord) -> io::Result<AuditRecord> {
        self.append_inner(record, None)?
            .ok_or_else(|| io::Error::other("append skipped"))
    }

    /// Appends only if `skip` is false for every record of the recent tail, deciding under
    /// the writers' lock (so two consoles recovering the same abandoned action write one
    /// outcome). `Ok(None)` when skipped.
    pub fn append_unless(
        &self,
        record: AuditRecord,
        skip: impl Fn(&AuditRecord) -> bool,
    ) -> io::Result<Option<AuditRecord>> {
        self.append_inner(record, Some(&skip))
    }

    fn append_inner(
        &self,
        record: AuditRecord,
        skip: Option<&dyn Fn(&AuditRecord) -> bool>,
    ) -> io::Result<Option<AuditRecord>> {
        self.ensure_dir()?;
        let _lock = Locked::acquire(&self.lock_path(), self.file_mode())?;
        if let Some(skip) = skip
            && self.read_tail(RECHECK_WINDOW)?.iter().any(skip)
        {
            return Ok(None);
        }
        let (mut prev_hash, mut prev_seq) = self.chain_head()?;
        // Did the chain lose what it held (deleted, truncated, renamed away)? Decided before
        // the file is opened (and so created again).
        let restart = anchor::read(&self.path)
            .filter(|a| anchor::behind(a, prev_seq, &prev_hash))
            .map(|a| {
                let why = anchor::why(&self.path, &a);
                anchor::restart_record(&a, (prev_seq, &prev_hash), &why, &self.path, &record)
            });
        if self.rotate_bytes > 0
            && fs::metadata(&self.path).is_ok_and(|m| m.len() >= self.rotate_bytes)
        {
            let next = rotated_files(&self.path)
                .last()
                .and_then(|p| p.extension().and_then(|e| e.to_str()?.parse::<u64>().ok()))
                .unwrap_or(0)
                + 1;
            let mut target = self.path.clone().into_os_string();
            target.push(format!(".{next:06}"));
            fs::rename(&self.path, &target)?;
        }
        let created = !self.path.exists();
        // Never through a symbolic link: it could point anywhere.
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(self.file_mode())
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => io::Error::other(format!(
                    "{} is a symbolic link; the audit log is never written through one",
                    self.path.display()
                )),
                _ => e,
            })?;
        if !created {
            self.check_existing(&file)?;
        }
        if created {
            self.set_group(&self.path)?;
            sync_dir(&self.path)?;
        }
        if let Some(r) = restart {
            (prev_hash, prev_seq, _) = write_record(&mut file, r, prev_hash, prev_seq)?;
        }
        let (hash, seq, record) = write_record(&mut file, record, prev_hash, prev_seq)?;
        // The anchor only catches a lost chain; failing to move it must not refuse an action
        // whose intent is already on record (the next append tries again).
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = anchor::write(
            &self.path,
            &Anchor {
                seq,
                sha256: hash,
                bytes,
            },
            self.file_mode(),
        );
        Ok(Some(record))
    }

    /// Hash of the last line and sequence of the last record, across rotation.
    fn chain_head(&self) -> io::Result<(String, u64)> {
        for f in self.files().iter().rev() {
            let mut file = File::open(f)?;
            if let Some((raw, seq)) = last_record(&mut file)? {
                return Ok((sha256_hex(&raw), seq));
            }
        }
        Ok((GENESIS.to_string(), 0))
    }

    /// Every parseable record across the chain's files, oldest first.
    pub fn read_all(&self) -> io::Result<Vec<AuditRecord>> {
        Ok(self
            .read_back(|_| false)?
            .into_iter()
            .map(|r| r.0)
            .collect())
    }

    /// Records with a sequence number above `seq`, with their raw lines, oldest first. Reads
    /// only as many files, newest backwards, as needed.
    pub fn lines_after(&self, seq: u64) -> io::Result<Vec<(AuditRecord, String)>> {
        let mut out = self.read_back(|recs| recs.first().is_some_and(|r| r.0.seq <= seq + 1))?;
        out.retain(|r| r.0.seq > seq);
        Ok(out)
    }

    /// The last `n` records (from the live file and, if needed, the newest rotated ones).
    pub fn read_tail(&self, n: usize) -> io::Result<Vec<AuditRecord>> {
        let mut out = self.read_back(|recs| recs.len() >= n)?;
        let skip = out.len().saturating_sub(n);
        Ok(out.drain(skip..).map(|r| r.0).collect())
    }

    /// Parseable records with their lines, oldest first, reading the chain's files from the
    /// newest backwards until `enough` holds for what was read. A file rotated away while
    /// reading is skipped.
    fn read_back(
        &self,
        enough: impl Fn(&[(AuditRecord, String)]) -> bool,
    ) -> io::Result<Vec<(AuditRecord, String)>> {
        let mut out: Vec<(AuditRecord, String)> = Vec::new();
        for f in self.files().iter().rev() {
            // Lossy: a damaged byte costs its line (verify reports it), not the whole read.
            let text = match fs::read(f) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let mut recs: Vec<(AuditRecord, String)> = text
                .lines()
                .filter_map(|l| {
                    serde_json::from_str::<AuditRecord>(l)
                        .ok()
                        .map(|r| (r, l.to_string()))
                })
                .collect();
            recs.append(&mut out);
            out = recs;
            if enough(&out) {
                break;
            }
        }
        Ok(out)
    }
}

/// Writes one record after (`prev_hash`, `prev_seq`) and syncs; returns the hash of its line,
/// its sequence and the record as written. A failed write is cut back, so a refused action
/// leaves no partial line.
fn write_record(
    file: &mut File,
    mut record: AuditRecord,
    prev_hash: String,
    prev_seq: u64,
) -> io::Result<(String, u64, AuditRecord)> {
    record.seq = prev_seq + 1;
    record.prev_sha256 = prev_hash;
    let mut line = record.to_line().map_err(io::Error::other)?;
    let hash = sha256_hex(&line);
    line.push(b'\n');
    let before = file.metadata()?.len();
    let written = file.write_all(&line).and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = file.set_len(before);
        let _ = file.sync_all();
        return Err(e);
    }
    Ok((hash, record.seq, record))
}

fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => File::open(d)?.sync_all(),
        _ => Ok(()),
    }
}

/// The raw last line of the file and the sequence of the last parseable record before or at it.
/// The raw line is what the next record chains to, even if it is damaged.
fn last_record(file: &mut File) -> io::Result<Option<(Vec<u8>, u64)>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut chunk = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        file.take(len - start).read_to_end(&mut buf)?;
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let mut lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
        // The first piece may be cut by the chunk boundary unless we read from the start.
        if start > 0 {
            lines.remove(0);
        }
        let Some(last) = lines.last() else {
            chunk *= 4;
            continue;
        };
        let parsed = lines.iter().enumerate().rev().find_map(|(i, l)| {
            serde_json::from_slice::<AuditRecord>(l)
                .ok()
                .map(|r| r.seq + (lines.len() - 1 - i) as u64)
        });
        match parsed {
            Some(seq) => return Ok(Some((last.to_vec(), seq))),
            None if start == 0 => return Ok(Some((last.to_vec(), lines.len() as u64))),
            None => chunk *= 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::verify;

    fn rec(op: &str) -> AuditRecord {
        AuditRecord {
            seq: 0,
            op_id: op.into(),
            prev_sha256: String::new(),
            ..crate::audit::record::sample()
        }
    }

    #[test]
    fn a_symlinked_or_world_writable_log_is_refused_with_the_reason() -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let real = dir.path().join("elsewhere.jsonl");
        fs::write(&real, "")?;
        let link = dir.path().join("audit.jsonl");
        std::os::unix::fs::symlink(&real, &link)?;
        let e = AuditLog::new(&link).append(rec("a")).expect_err("a link");
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        assert_eq!(fs::read_to_string(&real)?, "", "nothing written through it");

        let path = dir.path().join("wide.jsonl");
        let log = AuditLog::new(&path);
        log.append(rec("a"))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666))?;
        let e = log.append(rec("b")).expect_err("too open");
        assert!(
            e.to_string().contains("mode 0666, wider than the 0600"),
            "{e}"
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
        log.append(rec("b"))?;
        Ok(())
    }

    #[test]
    fn records_chain_by_hash_and_sequence() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let log = AuditLog::new(dir.path().join("sub/audit.jsonl"));
        let a = log.append(rec("a"))?;
        assert_eq!((a.seq, a.prev_sha256.as_str()), (1, GENESIS));
        let b = log.append(rec("b"))?;
        let text = fs::read_to_string(log.path())?;
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(b.prev_sha256, sha256_hex(first.as_bytes()));
        assert_eq!(b.seq, 2);
        assert_eq!(log.read_all()?.len(), 2);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(log.path())?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        Ok(())
    }

    #[test]
    fn rotation_continues_the_chain() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let log = AuditLog::new(dir.path().join("audit.jsonl")).with_rotation(2000);
        for i in 0..40 {
            log.append(rec(&format!("op{i}")))?;
        }
        assert!(rotated_files(log.path()).len() >= 3);
        let all = log.read_all()?;
        assert_eq!(all.len(), 40);
        assert!(all.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        let report = verify(log.path()).map_err(|e| io::Error::other(e.to_string()))?;
        assert_eq!(report.records, 40);
        assert_eq!(log.read_tail(5)?.len(), 5);
        assert_eq!(log.read_tail(5)?.last().map(|r| r.seq), Some(40));
        Ok(())
    }

    #[test]
    fn a_reader_group_gets_0640() -> io::Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir()?;
        let log = AuditLog::new(dir.path().join("g/audit.jsonl")).with_group(Some(1));
        log.append(rec("a"))?;
        let meta = fs::metadata(log.path())?;
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        assert_eq!(meta.gid(), 1);
        let dir_mode = fs::metadata(dir.path().join("g"))?.permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o750);
        Ok(())
    }

    #[test]
    fn unwritable_location_is_an_error() {
        let log = AuditLog::new("/proc/clusterdeck-cannot-write/audit.jsonl");
        assert!(log.append(rec("x")).is_err());
    }
}
