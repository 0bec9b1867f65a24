//! When the application set a global `tracing` subscriber before `init()`,
//! `init()` says so (through that subscriber) and still installs the tracer
//! provider and the propagator. Its own binary: a global can be set once.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nais_otel_console::Collector;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use tracing_subscriber::layer::SubscriberExt as _;

#[derive(Clone, Default)]
struct Messages(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Messages {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Visitor(String);
        impl tracing::field::Visit for Visitor {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut visitor = Visitor(String::new());
        event.record(&mut visitor);
        self.0.lock().unwrap().push(visitor.0);
    }
}

#[test]
fn says_so_and_still_installs_the_provider() {
    let messages = Messages::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(messages.clone()))
        .expect("the application's own subscriber");

    let collector = Collector::start().expect("collector");
    let guard = support::live(&collector.endpoint(), &[])
        .with_globals(true)
        .init()
        .expect("init");

    let said = messages.0.lock().unwrap().clone();
    assert!(
        said.iter()
            .any(|m| m.contains("global tracing subscriber was already set")),
        "{said:?}"
    );
    // The global provider is ours: a span from the global tracer is exported.
    opentelemetry::global::tracer("app").in_span("through-the-global-provider", |_| {});
    let _ = guard.provider().expect("provider").tracer("x");
    drop(guard);
    collector
        .wait_for(
            |spans| {
                spans
                    .iter()
                    .any(|s| s.name == "through-the-global-provider")
            },
            Duration::from_secs(10),
        )
        .expect("exported through the global provider");
}
