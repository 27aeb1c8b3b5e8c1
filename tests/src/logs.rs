//! Every log line the services of this test process write, kept in memory
//! at the most verbose level so a test can search them for secrets; also
//! printed to stderr when `TEST_LOG` is set.
//!
//! The capture is one global subscriber: it holds the lines of every test
//! running in the process, which only widens what a search covers.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use tracing_subscriber::{EnvFilter, Layer, fmt::MakeWriter, layer::SubscriberExt};

/// Countersign at `trace`, its libraries at `debug`, HTTP/2 plumbing at
/// `info` (its frames carry nothing of ours but are many).
const FILTER: &str = "debug,countersign=trace,h2=info,hyper=info,hyper_util=info,tower=info";

/// The captured lines.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything captured so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the capture on first call; the captured lines.
pub fn capture() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let memory = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(captured.clone())
                .with_filter(EnvFilter::new(FILTER));
            let terminal = std::env::var_os("TEST_LOG").map(|_| {
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_writer(std::io::stderr)
                    .with_filter(EnvFilter::new("info,countersign=debug"))
            });
            let subscriber = tracing_subscriber::registry().with(memory).with(terminal);
            let _ = tracing::subscriber::set_global_default(subscriber);
            captured
        })
        .clone()
}
