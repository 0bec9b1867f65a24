//! [`JsonLayer`]: the layer `init()` writes JSON log lines with.
//!
//! tracing-subscriber's `fmt` layer with [`JsonFormat`] writes the same lines, but it also
//! formats every span's fields when the span is made, for formatters that print them; a
//! JSON line names its span and prints no span fields, so that work is thrown away. This
//! layer does only what a line needs: it formats events. `http_layer_profile`'s
//! `handler-ours-init` measures it.

use std::cell::RefCell;
use std::io::Write as _;

use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::json::LineIds;
use super::JsonFormat;

thread_local! {
    /// The line being formatted, reused from event to event.
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes each event as one JSON line ([`JsonFormat`]) to a [`MakeWriter`].
pub(crate) struct JsonLayer<W> {
    format: JsonFormat,
    writer: W,
    /// Installed without a per-layer filter, for `RUST_LOG=info`: see
    /// [`deciding_interest`](Self::deciding_interest).
    own_interest: bool,
}

impl<W> JsonLayer<W> {
    pub(crate) fn new(format: JsonFormat, writer: W) -> Self {
        Self {
            format,
            writer,
            own_interest: false,
        }
    }

    /// This layer as the log output of `RUST_LOG` unset or `info`, without a per-layer
    /// filter: it wants INFO and above, and not the SDK's own targets (which `init()`
    /// turns off in every log filter that does not name them).
    pub(crate) fn deciding_interest(mut self) -> Self {
        self.own_interest = true;
        self
    }
}

/// Whether `RUST_LOG=info`, with the SDK's targets off, logs events of `meta`'s callsite.
fn logged_at_info(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO && !meta.target().starts_with("opentelemetry")
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.own_interest && !logged_at_info(meta) {
            Interest::never()
        } else {
            Interest::always()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.own_interest.then_some(LevelFilter::INFO)
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // A callsite's interest is shared by every subscriber of the process: another one
        // that wants DEBUG makes the callsite `always`, and its events reach this layer too.
        // A `log` record's own target decides, not its event's (`log`).
        if self.own_interest && !super::with_own_metadata(event, logged_at_info) {
            return;
        }
        // The span the event is in: the one it names, or the current one.
        let parent = ctx.event_span(event);
        let span = parent.as_ref().map(|span| span.name());
        let ids = LineIds::of(event, parent.as_ref());
        let write = |line: &mut Vec<u8>| {
            line.clear();
            if self.format.write_line(line, event, span, &ids).is_ok() {
                let _ = self
                    .writer
                    .make_writer_for(event.metadata())
                    .write_all(line);
            }
        };
        // An event logged while a line is formatted (by a field's `Debug`) gets a buffer
        // of its own.
        let reused = LINE.try_with(|line| match line.try_borrow_mut() {
            Ok(mut line) => {
                write(&mut line);
                true
            }
            Err(_) => false,
        });
        if reused != Ok(true) {
            write(&mut Vec::new());
        }
    }
}
