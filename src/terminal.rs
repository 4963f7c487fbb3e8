//! Terminal setup and, above all, restoration: a drop guard for every exit path and a panic
//! hook for the rest, so no crash leaves the operator's SSH session in raw mode.

use std::io::{self, Stdout, Write};
use std::path::{Path, PathBuf};

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

/// Puts the terminal back: leave the alternate screen, show the cursor, cooked mode. Safe to
/// call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
}

/// A panic on the main thread (the UI's) restores the terminal before the report is printed
/// (color-eyre's report after ours). A panic anywhere else is a backend task's: its supervisor
/// marks the source failed and restarts it while the UI keeps running, so the terminal is left
/// alone and the report goes to `panic_log` (the state directory's `clusterdeck.log`), not over
/// the screen.
pub fn install_hooks(panic_log: Option<PathBuf>) -> color_eyre::Result<()> {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().into_hooks();
    eyre_hook.install()?;
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        // Every panic is logged first, with where it happened: the screen may be gone.
        if let Some(path) = &panic_log {
            let line = format!(
                "{} panic in thread {}: {info}\n{}\n",
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                thread.name().unwrap_or("?"),
                std::backtrace::Backtrace::capture(),
            );
            let _ = append(path, &line);
        }
        if thread.name() == Some("main") {
            restore();
            // Not eprintln!: it panics when stderr is gone (a hung-up session), and a panic
            // inside the hook aborts.
            let _ = writeln!(io::stderr(), "{}", panic_hook.panic_report(info));
        }
    }));
    Ok(())
}

fn append(path: &Path, line: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())
}

/// Wraps the crossterm backend so a frame that changes nothing writes nothing: no cursor
/// re-hiding and no colour resets. An idle console is silent on the wire.
pub struct QuietBackend<B: Backend> {
    inner: B,
    cursor_hidden: Option<bool>,
    /// Where the cursor was last put (see `get_cursor_position`).
    cursor: Position,
}

impl<B: Backend> QuietBackend<B> {
    pub fn new(inner: B) -> Self {
        QuietBackend {
            inner,
            cursor_hidden: None,
            cursor: Position::default(),
        }
    }
}

impl<B: Backend> Backend for QuietBackend<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        if self.cursor_hidden != Some(true) {
            self.inner.hide_cursor()?;
            self.cursor_hidden = Some(true);
        }
        Ok(())
    }

    /// Never fails: ratatui's `Terminal` shows the cursor when dropped and prints the error
    /// with `eprintln!`, which panics when the session has hung up (stderr gone), and a panic
    /// while unwinding aborts before in-flight operations get their outcome. The cursor of a
    /// terminal that is gone needs no showing.
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        if self.cursor_hidden != Some(false) {
            let _ = self.inner.show_cursor();
            self.cursor_hidden = Some(false);
        }
        Ok(())
    }

    /// Where it was last put, not asked of the terminal: asking needs an answer on stdin,
    /// which the event reader may take first (after a session gave the terminal back the
    /// question timed out), and a full-screen console never needs the real position.
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        let p = position.into();
        self.inner.set_cursor_position(p)?;
        self.cursor = p;
        Ok(())
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

pub type Term = Terminal<QuietBackend<CrosstermBackend<Stdout>>>;

/// Owns the terminal while the console runs; restores it when dropped, whatever the exit path.
pub struct TerminalGuard {
    pub terminal: Term,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, Hide) {
            restore();
            return Err(e);
        }
        out.flush()?;
        let terminal = Terminal::new(QuietBackend::new(CrosstermBackend::new(io::stdout())))
            .inspect_err(|_| restore())?;
        Ok(TerminalGuard { terminal })
    }
}

impl TerminalGuard {
    /// Takes the terminal back after a session had it: raw mode, the alternate screen, and a
    /// full redraw (what the session printed is not on it).
    pub fn resume(&mut self) -> io::Result<()> {
        enable_raw_mode()?;
        execute!(io::stdout(), EnterAlternateScreen, Hide)?;
        self.terminal.clear()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
