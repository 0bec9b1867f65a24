//! [`Ended`]: a thread's ended spans as they wait for the export thread, holding none of
//! that thread's heap memory.
//!
//! Why: memory that one thread allocates and another frees makes both slow. With glibc's
//! allocator the thread that ends spans finds its allocation cache empty on every span and
//! takes its arena's lock, which the export thread holds as it frees that thread's spans;
//! exporting flat out to a collector, a request spent about a fifth of its time there
//! (`docs/benchmarks.md`). So a span's parts are stored as they arrive: its attributes'
//! keys and plain values moved into one list, its texts copied into one string, and the
//! emptied vectors and strings are freed at once, on the thread that made them, whose next
//! span reuses them. The OTLP encoder reads the stored spans in place ([`StoredRef`]);
//! for any other exporter the export thread rebuilds each [`SpanData`] from the store, in
//! memory of its own, and frees it itself.

use std::borrow::Cow;
use std::ops::Range;
use std::time::SystemTime;

use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

/// A span about to be stored: a [`SpanData`]'s parts, without its scope when the span is
/// the tracing bridge's (its scope is set on the export thread).
pub(crate) struct SpanParts {
    pub(crate) span_context: SpanContext,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_span_is_remote: bool,
    pub(crate) span_kind: SpanKind,
    pub(crate) name: Cow<'static, str>,
    pub(crate) start_time: SystemTime,
    pub(crate) end_time: SystemTime,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) dropped_attributes_count: u32,
    pub(crate) events: Vec<Event>,
    pub(crate) dropped_events_count: u32,
    pub(crate) links: SpanLinks,
    pub(crate) status: Status,
    pub(crate) scope: Option<InstrumentationScope>,
}

impl From<SpanData> for SpanParts {
    fn from(span: SpanData) -> Self {
        let SpanEvents {
            events,
            dropped_count,
            ..
        } = span.events;
        Self {
            span_context: span.span_context,
            parent_span_id: span.parent_span_id,
            parent_span_is_remote: span.parent_span_is_remote,
            span_kind: span.span_kind,
            name: span.name,
            start_time: span.start_time,
            end_time: span.end_time,
            attributes: span.attributes,
            dropped_attributes_count: span.dropped_attributes_count,
            events,
            dropped_events_count: dropped_count,
            links: span.links,
            status: span.status,
            scope: Some(span.instrumentation_scope),
        }
    }
}

/// A text of a stored span: a `&'static str` as it was, any other text in [`Ended::text`].
enum Text {
    Static(&'static str),
    Stored(Range<usize>),
    /// A text longer than [`COPIED_AT_MOST`], kept as it was.
    Owned(String),
}

/// The longest text copied into the store; a longer one (a whole SQL statement, say) is
/// kept as it was: copying it costs more than freeing it on the export thread.
const COPIED_AT_MOST: usize = 1024;

/// Appends `text` to `store`; where it is there.
fn store(store: &mut String, text: &str) -> Range<usize> {
    let start = store.len();
    store.push_str(text);
    start..store.len()
}

/// A stored attribute value: a string's text in [`Ended::text`], any other value as it was
/// (numbers and booleans own no heap memory; arrays are rare and move as they are, as does
/// a string longer than [`COPIED_AT_MOST`]).
enum StoredValue {
    Text(Range<usize>),
    Other(Value),
}

struct StoredEvent {
    name: Text,
    timestamp: SystemTime,
    attributes: usize,
    dropped_attributes_count: u32,
}

enum StoredStatus {
    Unset,
    Ok,
    Error(Text),
}

/// A stored span: its attributes and events are the next ones in [`Ended`]'s lists.
struct StoredSpan {
    span_context: SpanContext,
    parent_span_id: SpanId,
    parent_span_is_remote: bool,
    span_kind: SpanKind,
    name: Text,
    start_time: SystemTime,
    end_time: SystemTime,
    attributes: usize,
    dropped_attributes_count: u32,
    events: usize,
    dropped_events_count: u32,
    links: SpanLinks,
    status: StoredStatus,
    /// Its scope is the next one in [`Ended`]'s list; the bridge's spans have none (the
    /// scope is large, and moving it with every span costs).
    scoped: bool,
}

/// Room in each of an [`Ended`]'s lists.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    spans: usize,
    attributes: usize,
    events: usize,
    scopes: usize,
    text: usize,
}

/// One thread's ended spans, in the order they ended.
pub(crate) struct Ended {
    spans: Vec<StoredSpan>,
    attributes: Vec<(Key, StoredValue)>,
    events: Vec<StoredEvent>,
    scopes: Vec<InstrumentationScope>,
    text: String,
}

impl Ended {
    pub(crate) const fn new() -> Self {
        Self {
            spans: Vec::new(),
            attributes: Vec::new(),
            events: Vec::new(),
            scopes: Vec::new(),
            text: String::new(),
        }
    }

    /// The room for its successor, list by list: half again what it holds, and at least
    /// three quarters of its own room. The export thread collects a busy thread's buffer
    /// at uneven sizes (one collection 250 spans, the next 500); sized on the last alone,
    /// the buffer would grow on most collections, and each growth copies it on the thread
    /// that ends spans. So the room follows the larger collections, and gives back a
    /// quarter a collection when the thread ends fewer spans.
    pub(crate) fn room_after(&self) -> Sizes {
        let room = |len: usize, capacity: usize| (len + len / 2).max(capacity - capacity / 4);
        Sizes {
            spans: room(self.spans.len(), self.spans.capacity()),
            attributes: room(self.attributes.len(), self.attributes.capacity()),
            events: room(self.events.len(), self.events.capacity()),
            scopes: room(self.scopes.len(), self.scopes.capacity()),
            text: room(self.text.len(), self.text.capacity()),
        }
    }

    /// Empty, with room for `sizes`, up to `room` spans.
    pub(crate) fn with_room(sizes: Sizes, room: usize) -> Self {
        Self {
            spans: Vec::with_capacity(sizes.spans.min(room)),
            attributes: Vec::with_capacity(sizes.attributes),
            events: Vec::with_capacity(sizes.events),
            scopes: Vec::with_capacity(sizes.scopes),
            text: String::with_capacity(sizes.text),
        }
    }

    /// How many spans wait.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Stores `span`; its vectors and strings are freed here.
    pub(crate) fn push(&mut self, span: SpanParts) {
        let name = self.cow(span.name);
        let attributes = span.attributes.len();
        self.push_attributes(span.attributes);
        let events = span.events.len();
        for event in span.events {
            let Event {
                name,
                timestamp,
                attributes,
                dropped_attributes_count,
                ..
            } = event;
            let stored = StoredEvent {
                name: self.cow(name),
                timestamp,
                attributes: attributes.len(),
                dropped_attributes_count,
            };
            self.push_attributes(attributes);
            self.events.push(stored);
        }
        let status = match span.status {
            Status::Unset => StoredStatus::Unset,
            Status::Ok => StoredStatus::Ok,
            Status::Error { description } => StoredStatus::Error(self.cow(description)),
        };
        let scoped = span.scope.is_some();
        if let Some(scope) = span.scope {
            self.scopes.push(scope);
        }
        self.spans.push(StoredSpan {
            span_context: span.span_context,
            parent_span_id: span.parent_span_id,
            parent_span_is_remote: span.parent_span_is_remote,
            span_kind: span.span_kind,
            name,
            start_time: span.start_time,
            end_time: span.end_time,
            attributes,
            dropped_attributes_count: span.dropped_attributes_count,
            events,
            dropped_events_count: span.dropped_events_count,
            links: span.links,
            status,
            scoped,
        });
    }

    fn push_attributes(&mut self, attributes: Vec<KeyValue>) {
        let text = &mut self.text;
        self.attributes
            .extend(attributes.into_iter().map(|KeyValue { key, value, .. }| {
                let value = match value {
                    Value::String(value) if value.as_str().len() <= COPIED_AT_MOST => {
                        StoredValue::Text(store(text, value.as_str()))
                    }
                    other => StoredValue::Other(other),
                };
                (key, value)
            }));
    }

    fn cow(&mut self, text: Cow<'static, str>) -> Text {
        match text {
            Cow::Borrowed(text) => Text::Static(text),
            Cow::Owned(text) if text.len() <= COPIED_AT_MOST => {
                Text::Stored(store(&mut self.text, &text))
            }
            Cow::Owned(text) => Text::Owned(text),
        }
    }
}

/// A stored span read in place: the OTLP encoder writes it as it is
/// (`export::otlp::encode`), and [`span_data`](Self::span_data) copies it into a
/// [`SpanData`] for any other exporter.
#[derive(Clone, Copy)]
pub(crate) struct StoredRef<'a> {
    span: &'a StoredSpan,
    /// The span's attributes, then each of its events' in turn.
    attributes: &'a [(Key, StoredValue)],
    events: &'a [StoredEvent],
    scope: Option<&'a InstrumentationScope>,
    text: &'a str,
}

/// An attribute value of a stored span.
#[derive(Clone, Copy)]
pub(crate) enum ValueRef<'a> {
    Text(&'a str),
    Value(&'a Value),
}

/// A stored span's status.
#[derive(Clone, Copy)]
pub(crate) enum StatusRef<'a> {
    Unset,
    Ok,
    Error(&'a str),
}

/// An event of a stored span.
#[derive(Clone, Copy)]
pub(crate) struct EventRef<'a> {
    event: &'a StoredEvent,
    attributes: &'a [(Key, StoredValue)],
    text: &'a str,
}

impl Ended {
    /// The stored spans, in place, in the order they ended.
    pub(crate) fn iter(&self) -> impl Iterator<Item = StoredRef<'_>> {
        let (mut attributes, mut events) = (0, 0);
        let mut scopes = self.scopes.iter();
        self.spans.iter().map(move |span| {
            // `get`: the lists hold what `push` put in, so every range is there.
            let span_events = self
                .events
                .get(events..events + span.events)
                .unwrap_or_default();
            let count = span.attributes + span_events.iter().map(|e| e.attributes).sum::<usize>();
            let stored = StoredRef {
                span,
                attributes: self
                    .attributes
                    .get(attributes..attributes + count)
                    .unwrap_or_default(),
                events: span_events,
                scope: if span.scoped { scopes.next() } else { None },
                text: &self.text,
            };
            attributes += count;
            events += span.events;
            stored
        })
    }
}

fn text_of<'a>(store: &'a str, text: &'a Text) -> &'a str {
    match text {
        Text::Static(text) => text,
        Text::Stored(range) => store.get(range.clone()).unwrap_or_default(),
        Text::Owned(text) => text,
    }
}

fn value_of<'a>(store: &'a str, value: &'a StoredValue) -> ValueRef<'a> {
    match value {
        StoredValue::Text(range) => ValueRef::Text(store.get(range.clone()).unwrap_or_default()),
        StoredValue::Other(value) => ValueRef::Value(value),
    }
}

fn attributes_of<'a>(
    store: &'a str,
    attributes: &'a [(Key, StoredValue)],
) -> impl Iterator<Item = (&'a Key, ValueRef<'a>)> + 'a {
    attributes
        .iter()
        .map(move |(key, value)| (key, value_of(store, value)))
}

fn owned_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Text(text) => Value::String(StringValue::from(text.to_owned())),
        ValueRef::Value(value) => value.clone(),
    }
}

impl<'a> StoredRef<'a> {
    pub(crate) fn span_context(&self) -> &'a SpanContext {
        &self.span.span_context
    }

    pub(crate) fn parent_span_id(&self) -> SpanId {
        self.span.parent_span_id
    }

    pub(crate) fn parent_span_is_remote(&self) -> bool {
        self.span.parent_span_is_remote
    }

    pub(crate) fn span_kind(&self) -> &'a SpanKind {
        &self.span.span_kind
    }

    pub(crate) fn name(&self) -> &'a str {
        text_of(self.text, &self.span.name)
    }

    pub(crate) fn start_time(&self) -> SystemTime {
        self.span.start_time
    }

    pub(crate) fn end_time(&self) -> SystemTime {
        self.span.end_time
    }

    /// The span's own attributes.
    pub(crate) fn attributes(&self) -> impl Iterator<Item = (&'a Key, ValueRef<'a>)> + 'a {
        let own = self.attributes.get(..self.span.attributes);
        attributes_of(self.text, own.unwrap_or_default())
    }

    pub(crate) fn attribute_count(&self) -> usize {
        self.span.attributes
    }

    pub(crate) fn dropped_attributes_count(&self) -> u32 {
        self.span.dropped_attributes_count
    }

    pub(crate) fn events(&self) -> impl Iterator<Item = EventRef<'a>> + 'a {
        let text = self.text;
        let mut rest = self
            .attributes
            .get(self.span.attributes..)
            .unwrap_or_default();
        self.events.iter().map(move |event| {
            let (attributes, after) = rest
                .split_at_checked(event.attributes)
                .unwrap_or((rest, &[]));
            rest = after;
            EventRef {
                event,
                attributes,
                text,
            }
        })
    }

    pub(crate) fn event_count(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn dropped_events_count(&self) -> u32 {
        self.span.dropped_events_count
    }

    pub(crate) fn links(&self) -> &'a SpanLinks {
        &self.span.links
    }

    pub(crate) fn status(&self) -> StatusRef<'a> {
        match &self.span.status {
            StoredStatus::Unset => StatusRef::Unset,
            StoredStatus::Ok => StatusRef::Ok,
            StoredStatus::Error(description) => StatusRef::Error(text_of(self.text, description)),
        }
    }

    /// Its scope; `None` for the tracing bridge's spans, whose scope the export thread
    /// sets.
    pub(crate) fn scope(&self) -> Option<&'a InstrumentationScope> {
        self.scope
    }

    /// The span as a [`SpanData`] of its own (copied), with `scope` when it has none.
    pub(crate) fn span_data(self, scope: &InstrumentationScope) -> SpanData {
        let mut events = SpanEvents::default();
        events.dropped_count = self.dropped_events_count();
        events.events = self
            .events()
            .map(|event| {
                Event::new(
                    event.name().to_owned(),
                    event.timestamp(),
                    event
                        .attributes()
                        .map(|(key, value)| KeyValue::new(key.clone(), owned_value(value)))
                        .collect(),
                    event.dropped_attributes_count(),
                )
            })
            .collect();
        let owned = |text: &Text| -> Cow<'static, str> {
            match text {
                Text::Static(text) => Cow::Borrowed(text),
                other => Cow::Owned(text_of(self.text, other).to_owned()),
            }
        };
        SpanData {
            span_context: self.span.span_context.clone(),
            parent_span_id: self.span.parent_span_id,
            parent_span_is_remote: self.span.parent_span_is_remote,
            span_kind: self.span.span_kind.clone(),
            name: owned(&self.span.name),
            start_time: self.span.start_time,
            end_time: self.span.end_time,
            attributes: self
                .attributes()
                .map(|(key, value)| KeyValue::new(key.clone(), owned_value(value)))
                .collect(),
            dropped_attributes_count: self.span.dropped_attributes_count,
            events,
            links: self.span.links.clone(),
            status: match &self.span.status {
                StoredStatus::Unset => Status::Unset,
                StoredStatus::Ok => Status::Ok,
                StoredStatus::Error(description) => Status::Error {
                    description: owned(description),
                },
            },
            instrumentation_scope: self.scope.unwrap_or(scope).clone(),
        }
    }
}

impl<'a> EventRef<'a> {
    pub(crate) fn name(&self) -> &'a str {
        text_of(self.text, &self.event.name)
    }

    pub(crate) fn timestamp(&self) -> SystemTime {
        self.event.timestamp
    }

    pub(crate) fn attributes(&self) -> impl Iterator<Item = (&'a Key, ValueRef<'a>)> + 'a {
        attributes_of(self.text, self.attributes)
    }

    pub(crate) fn attribute_count(&self) -> usize {
        self.attributes.len()
    }

    pub(crate) fn dropped_attributes_count(&self) -> u32 {
        self.event.dropped_attributes_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::generated::{scopes, Rng};

    fn span_of(attributes: usize) -> SpanParts {
        SpanParts {
            span_context: SpanContext::empty_context(),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed("span"),
            start_time: SystemTime::UNIX_EPOCH,
            end_time: SystemTime::UNIX_EPOCH,
            attributes: (0..attributes)
                .map(|i| KeyValue::new("key", format!("value {i}")))
                .collect(),
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: SpanLinks::default(),
            status: Status::Unset,
            scope: None,
        }
    }

    /// A buffer collected at uneven sizes keeps the room of the larger collections, so
    /// the spans of the next do not grow it; with fewer spans it gives back a quarter a
    /// collection.
    #[test]
    fn the_room_follows_the_larger_collections() {
        let room = 2_048;
        let mut ended = Ended::with_room(Ended::new().room_after(), room);
        // Collections of 500, 250, 500, 250, … spans of four attributes; how many of the
        // spans grew the buffer.
        let collect_twenty = |ended: &mut Ended| {
            let mut grew = 0;
            for collection in 0..20 {
                let spans = if collection % 2 == 0 { 500 } else { 250 };
                for _ in 0..spans {
                    let before = (ended.spans.capacity(), ended.attributes.capacity());
                    ended.push(span_of(4));
                    let after = (ended.spans.capacity(), ended.attributes.capacity());
                    grew += usize::from(before != after);
                }
                *ended = Ended::with_room(ended.room_after(), room);
            }
            grew
        };
        // The first collections grow it; after them, no growth.
        let grew = collect_twenty(&mut ended);
        let after = collect_twenty(&mut ended);
        assert!(grew > 0);
        assert_eq!(after, 0, "the buffer grew again under the same load");
        assert!(ended.spans.capacity() >= 500, "{}", ended.spans.capacity());
        // Ten collections of 10 spans: the room shrinks towards what they need.
        for _ in 0..10 {
            for _ in 0..10 {
                ended.push(span_of(4));
            }
            ended = Ended::with_room(ended.room_after(), room);
        }
        assert!(ended.spans.capacity() < 100, "{}", ended.spans.capacity());
        // Never more spans than the queue holds.
        let big = Sizes {
            spans: 10_000,
            attributes: 0,
            events: 0,
            scopes: 0,
            text: 0,
        };
        assert_eq!(Ended::with_room(big, room).spans.capacity(), room);
    }

    /// Spans stored and rebuilt are the spans that went in, in order: every kind of value,
    /// texts borrowed and owned, events, links, statuses and scopes.
    #[test]
    fn generated_spans_come_back_as_they_went_in() {
        let mut rng = Rng::seeded(0x5eed_da7a);
        let scopes = scopes();
        let mut spans = 0;
        for round in 0..200 {
            let batch: Vec<SpanData> = (0..[0, 1, 3, 20][round % 4])
                .map(|_| rng.span(&scopes))
                .collect();
            let mut ended = Ended::new();
            for span in &batch {
                ended.push(SpanParts::from(span.clone()));
            }
            assert_eq!(ended.len(), batch.len());
            let back: Vec<(SpanData, bool)> = ended
                .iter()
                .map(|span| (span.span_data(&scopes[0]), span.scope().is_none()))
                .collect();
            assert_eq!(back.len(), batch.len());
            for (went_in, (came_back, bridge)) in batch.iter().zip(&back) {
                assert!(!bridge);
                // `Debug`: `NaN` values are not equal to themselves.
                assert_eq!(format!("{went_in:?}"), format!("{came_back:?}"));
                assert_eq!(
                    matches!(went_in.name, Cow::Borrowed(_)),
                    matches!(came_back.name, Cow::Borrowed(_))
                );
            }
            spans += batch.len();
        }
        assert!(spans > 1000, "{spans} spans compared");
    }

    /// Texts longer than what is copied (a name, a value, a status, an event's name) come
    /// back as they went in, between short ones.
    #[test]
    fn long_texts_come_back_as_they_went_in() {
        let mut rng = Rng::seeded(8);
        let long = "dog ".repeat(COPIED_AT_MOST);
        let mut batch: Vec<SpanData> = (0..3).map(|_| rng.span(&scopes())).collect();
        let span = &mut batch[1];
        span.name = Cow::Owned(long.clone());
        span.attributes
            .push(KeyValue::new("statement", long.clone()));
        span.attributes
            .push(KeyValue::new("short", "after".to_owned()));
        span.status = Status::error(long.clone());
        span.events
            .events
            .push(Event::new(long.clone(), SystemTime::UNIX_EPOCH, vec![], 0));
        let mut ended = Ended::new();
        for span in &batch {
            ended.push(SpanParts::from(span.clone()));
        }
        let back: Vec<SpanData> = ended
            .iter()
            .map(|span| span.span_data(&InstrumentationScope::default()))
            .collect();
        assert_eq!(format!("{batch:?}"), format!("{back:?}"));
    }

    /// A span without a scope (the bridge's) has none in the store, and gets the one given.
    #[test]
    fn a_span_without_a_scope_is_the_bridges() {
        let mut rng = Rng::seeded(7);
        let span = rng.span(&scopes());
        let mut parts = SpanParts::from(span);
        parts.scope = None;
        let mut ended = Ended::new();
        ended.push(parts);
        let span = ended.iter().next().expect("one span");
        assert!(span.scope().is_none());
        let scope = InstrumentationScope::builder("bridge").build();
        assert_eq!(span.span_data(&scope).instrumentation_scope, scope);
    }
}
