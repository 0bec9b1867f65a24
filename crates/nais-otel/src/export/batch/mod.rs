//! [`BatchProcessor`]: ended spans into per-thread buffers, exported in batches by a thread
//! of its own.
//!
//! Why not the SDK's `BatchSpanProcessor`: it sends every span through one channel that all
//! threads share, and with it several atomic operations on shared counters, on the thread
//! that ends the span. Here a span goes into a buffer of the thread that ended it, behind a
//! lock no other thread takes except the export thread when it collects, and one shared
//! counter bounds the queue. The export thread collects every buffer on its schedule, when
//! a batch is full, and on flush and shutdown. `docs/benchmarks.md` gives the measured gain.
//! A buffer holds none of its thread's heap memory (see [`store`]).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

pub(crate) use self::store::Ended;
pub(crate) use self::store::{EventRef, SpanParts, StatusRef, StoredRef, ValueRef};
use super::Stats;
use crate::config::BatchSettings;

/// How long [`BatchProcessor::force_flush`] waits for the export thread.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Tells processors apart in the threads' buffer lists.
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's buffer in each processor it ended a span into.
    static BUFFERS: RefCell<Vec<ThreadBuffer>> = const { RefCell::new(Vec::new()) };
}

/// A thread's buffer in one processor, and that processor's shared state.
struct ThreadBuffer {
    shared: Arc<Shared>,
    buffer: Arc<Buffer>,
}

/// Every processor's shared state by id, for a bridge span that ends on a thread with no
/// buffer in its processor yet ([`end_span`]).
static PROCESSORS: Mutex<Vec<(usize, Weak<Shared>)>> = Mutex::new(Vec::new());

/// Hands over a span of the tracing bridge to the processor with id `processor`
/// ([`BatchProcessor::id`]): `parts` makes its parts (without a scope) once it is let in,
/// and the processor's `F` finishes it on the export thread.
///
/// The bridge's span record ends its span as it is dropped, and keeps this id rather than
/// a handle: a handle would be a reference count that every thread changes for every span.
/// The processor is found in this thread's buffer list, or, the first time, in the list of
/// every processor. A processor that is gone takes nothing.
#[inline]
pub(crate) fn end_span(processor: usize, parts: impl FnOnce() -> SpanParts) {
    let Err(parts) = end_in_thread(processor, parts) else {
        return;
    };
    let shared = PROCESSORS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(id, _)| *id == processor)
        .and_then(|(_, shared)| shared.upgrade());
    if let Some(shared) = shared {
        shared.end(parts);
    }
}

/// Ends the span `span` makes into this thread's buffer in processor `processor`; gives
/// `span` back when the thread has none (or is being torn down).
#[inline]
fn end_in_thread<P: FnOnce() -> SpanParts>(processor: usize, span: P) -> Result<(), P> {
    let mut span = Some(span);
    let _ = BUFFERS.try_with(|buffers| {
        let buffers = buffers.borrow();
        if let Some(entry) = buffers.iter().find(|entry| entry.shared.id == processor) {
            if let Some(span) = span.take() {
                entry.shared.end_into(&entry.buffer, span);
            }
        }
    });
    span.map_or(Ok(()), Err)
}

/// What the export thread does to the tracing bridge's spans, besides SDK spans: their
/// parts arrive without a scope or limits ([`BatchProcessor::end`]).
pub(crate) trait Finish: Send + 'static {
    /// On the export thread: gives the span made of a bridge span's parts its scope and
    /// cuts it to the span limits.
    fn finish(&self, span: &mut SpanData);

    /// The scope of a bridge span read in place, when [`finish`](Self::finish) would change
    /// nothing else in it; `None` when it must be made a [`SpanData`] and finished.
    fn stored_scope(&self, span: &StoredRef<'_>) -> Option<&InstrumentationScope>;
}

/// For processors that only get SDK spans.
#[derive(Debug)]
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the pipeline's processor gets bridge spans")
)]
pub(crate) struct SpansOnly;

impl Finish for SpansOnly {
    fn finish(&self, _span: &mut SpanData) {}

    fn stored_scope(&self, _span: &StoredRef<'_>) -> Option<&InstrumentationScope> {
        None
    }
}

/// A span as the export thread hands it to an exporter that takes stored spans
/// ([`StoredExport`]).
pub(crate) enum Item<'a> {
    /// Read in place from a thread's buffer, with its scope.
    Stored(StoredRef<'a>, &'a InstrumentationScope),
    /// A span of its own: a bridge span that [`Finish`] had to cut, or one the exporter
    /// changed.
    Data(Box<SpanData>),
}

impl Item<'_> {
    /// The span as a [`SpanData`] of its own (copied).
    pub(crate) fn to_span_data(&self) -> SpanData {
        match self {
            Item::Stored(span, scope) => span.span_data(scope),
            Item::Data(span) => (**span).clone(),
        }
    }
}

/// `span` as the export thread hands it over: in place with its scope, or, a bridge span
/// that `finish` cuts to the span limits, made a [`SpanData`] and finished.
pub(crate) fn stored_item<'a, F: Finish>(span: StoredRef<'a>, finish: &'a F) -> Item<'a> {
    match span.scope().or_else(|| finish.stored_scope(&span)) {
        Some(scope) => Item::Stored(span, scope),
        None => {
            let mut data = span.span_data(&InstrumentationScope::default());
            finish.finish(&mut data);
            Item::Data(Box::new(data))
        }
    }
}

/// What the export thread asks of its exporter besides [`SpanExporter`]: whether it writes
/// spans from the threads' buffers as they are, without a [`SpanData`] each.
pub(crate) trait StoredExport: SpanExporter {
    /// Whether [`export_stored`](Self::export_stored) takes the batches instead of
    /// [`SpanExporter::export`].
    fn takes_stored(&self) -> bool {
        false
    }

    /// Exports `items`. It may replace an item (with the span it sends instead). By
    /// default each is copied into a [`SpanData`] for [`SpanExporter::export`].
    fn export_stored(
        &self,
        items: &mut [Item<'_>],
    ) -> Pin<Box<dyn Future<Output = OTelSdkResult> + Send + '_>> {
        let batch = items.iter().map(Item::to_span_data).collect();
        Box::pin(self.export(batch))
    }
}

/// One thread's ended spans, waiting for the export thread.
struct Buffer {
    ended: Mutex<Ended>,
}

impl Buffer {
    const fn new() -> Self {
        Self {
            ended: Mutex::new(Ended::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ended> {
        // A panic while the lock was held (in `Vec::push`) leaves the spans as they were.
        self.ended.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the threads that end spans share with the export thread.
struct Shared {
    id: usize,
    /// Every thread's buffer. A buffer only this list still holds belongs to a thread that
    /// is gone; it is removed once it is empty.
    buffers: Mutex<Vec<Arc<Buffer>>>,
    /// Spans ended while a thread was being torn down, when its own buffer is gone.
    orphans: Arc<Buffer>,
    stats: Arc<Stats>,
    /// At most this many spans wait; more are dropped and counted.
    capacity: u64,
    /// This many spans waiting wake the export thread before its schedule.
    batch_size: u64,
    /// The export thread has been woken and has not started collecting yet.
    woken: AtomicBool,
    /// The export thread's messages; the sender is taken when the processor is dropped, so
    /// that the export thread sees its channel close.
    messages: Mutex<Option<SyncSender<Message>>>,
    /// Set by shutdown and when the processor is dropped: spans are dropped, and the
    /// threads' lists let go of it.
    shut_down: AtomicBool,
}

impl Shared {
    /// Counts a span that ended: how many were waiting before it, or `None` when it is
    /// dropped (shut down, or no room).
    #[inline]
    fn admit(&self) -> Option<u64> {
        if self.shut_down.load(Ordering::Relaxed) {
            return None;
        }
        self.stats.queue(self.capacity)
    }

    /// Wakes the export thread when a batch is waiting.
    #[inline]
    fn wake(&self, waiting: u64) {
        if waiting + 1 >= self.batch_size
            && !self.woken.load(Ordering::Relaxed)
            && !self.woken.swap(true, Ordering::Relaxed)
            && self.send(Message::Export).is_err()
        {
            self.woken.store(false, Ordering::Relaxed);
        }
    }

    /// Sends `message` to the export thread, without waiting.
    fn send(&self, message: Message) -> Result<(), TrySendError<Message>> {
        match &*self.messages.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(sender) => sender.try_send(message),
            None => Err(TrySendError::Disconnected(message)),
        }
    }

    /// Lets in the span `span` makes and stores it in `buffer`, this thread's.
    #[inline]
    fn end_into(&self, buffer: &Buffer, span: impl FnOnce() -> SpanParts) {
        let Some(waiting) = self.admit() else {
            return;
        };
        buffer.lock().push(span());
        self.wake(waiting);
    }

    /// Lets in the span `span` makes and stores it in this thread's buffer, made the first
    /// time, or in the orphans' while the thread is torn down. The span is made where it is
    /// stored: moving a span's parts costs as much as making them.
    #[inline]
    fn end(self: &Arc<Self>, span: impl FnOnce() -> SpanParts) {
        let Err(span) = end_in_thread(self.id, span) else {
            return;
        };
        self.end_first(span);
    }

    /// [`end`](Self::end) on a thread with no buffer in this processor yet, or one being
    /// torn down.
    #[cold]
    fn end_first(self: &Arc<Self>, span: impl FnOnce() -> SpanParts) {
        let Some(waiting) = self.admit() else {
            return;
        };
        let buffer = BUFFERS
            .try_with(|buffers| self.register(&mut buffers.borrow_mut()))
            .ok();
        match buffer {
            Some(buffer) => buffer.lock().push(span()),
            None => self.orphans.lock().push(span()),
        }
        self.wake(waiting);
    }

    /// Makes this thread's buffer. Drops the entries of processors that are shut down or
    /// dropped from the thread's list.
    #[cold]
    fn register(self: &Arc<Self>, buffers: &mut Vec<ThreadBuffer>) -> Arc<Buffer> {
        buffers.retain(|entry| !entry.shared.shut_down.load(Ordering::Relaxed));
        let buffer = Arc::new(Buffer::new());
        self.all_buffers().push(buffer.clone());
        buffers.push(ThreadBuffer {
            shared: self.clone(),
            buffer: buffer.clone(),
        });
        buffer
    }

    fn all_buffers(&self) -> MutexGuard<'_, Vec<Arc<Buffer>>> {
        self.buffers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes every waiting span out of the buffers, a list per buffer. A thread's buffer is
    /// swapped for an empty one with the room [`Ended::room_after`] gives (up to `room`
    /// spans), made before the thread's lock is taken: the thread never waits for a copy.
    fn collect(&self, room: usize) -> Vec<Ended> {
        self.woken.store(false, Ordering::Relaxed);
        let mut taken = Vec::new();
        let mut buffers = self.all_buffers();
        for buffer in buffers
            .iter()
            .map(|buffer| &**buffer)
            .chain([&*self.orphans])
        {
            let sizes = {
                let ended = buffer.lock();
                if ended.len() == 0 {
                    continue;
                }
                ended.room_after()
            };
            let fresh = Ended::with_room(sizes, room);
            taken.push(std::mem::replace(&mut *buffer.lock(), fresh));
        }
        // A buffer only this list holds belongs to a thread that is gone: nothing is put
        // into it any more, so once it is empty it goes.
        buffers.retain(|buffer| Arc::strong_count(buffer) > 1 || buffer.lock().len() > 0);
        taken
    }
}

enum Message {
    /// A batch is waiting.
    Export,
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>),
    SetResource(Resource),
}

/// The span processor of `init()`'s pipeline: counts the spans that end, keeps at most
/// `max_queue_size` of them waiting (dropping and counting the rest), and exports them in
/// batches of at most `max_export_batch_size` from a thread of its own, every
/// `schedule_delay`, as soon as a batch is full, and on flush and shutdown. Besides SDK
/// spans it takes the tracing bridge's spans' parts ([`end`](Self::end)), which `F`
/// finishes on the export thread.
///
/// Spans queued minus spans handed to the exporter (which the exporters count) is never
/// less than what waits in the buffers: spans leave the buffers before they are handed
/// over. So a span let in here always fits, and every drop is counted exactly.
pub(crate) struct BatchProcessor<F: Finish> {
    shared: Arc<Shared>,
    finish: std::marker::PhantomData<fn(F)>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl<F: Finish> fmt::Debug for BatchProcessor<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("capacity", &self.shared.capacity)
            .field("batch_size", &self.shared.batch_size)
            .finish_non_exhaustive()
    }
}

impl<F: Finish> BatchProcessor<F> {
    /// Starts the export thread around `exporter`, with `finish` for the bridge's spans.
    /// Fails only if the thread cannot be made.
    pub(crate) fn start<E>(
        exporter: E,
        finish: F,
        batch: BatchSettings,
        stats: Arc<Stats>,
    ) -> io::Result<Self>
    where
        E: StoredExport + 'static,
    {
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            buffers: Mutex::new(Vec::new()),
            orphans: Arc::new(Buffer::new()),
            stats,
            capacity: batch.max_queue_size as u64,
            batch_size: batch.max_export_batch_size.max(1) as u64,
            woken: AtomicBool::new(false),
            messages: Mutex::new(None),
            shut_down: AtomicBool::new(false),
        });
        // Room for one message of each kind that may wait at once.
        let (messages, receiver) = mpsc::sync_channel(8);
        *shared
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(messages);
        {
            let mut processors = PROCESSORS.lock().unwrap_or_else(PoisonError::into_inner);
            processors.retain(|(_, shared)| shared.strong_count() > 0);
            processors.push((shared.id, Arc::downgrade(&shared)));
        }
        let worker = Worker {
            shared: shared.clone(),
            exporter,
            finish,
            delay: batch.schedule_delay,
            batch_size: batch.max_export_batch_size.max(1),
        };
        let worker = std::thread::Builder::new()
            .name("nais-otel-batch".into())
            .spawn(move || worker.run(&receiver))?;
        Ok(Self {
            shared,
            finish: std::marker::PhantomData,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// This processor's id, which the tracing bridge's spans end into ([`end_span`]).
    pub(crate) fn id(&self) -> usize {
        self.shared.id
    }

    /// Sends `message` to the export thread and waits up to `timeout` for its answer.
    fn ask(
        &self,
        message: impl FnOnce(SyncSender<OTelSdkResult>) -> Message,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (reply, answer) = mpsc::sync_channel(1);
        match self.shared.send(message(reply)) {
            Ok(()) => match answer.recv_timeout(timeout) {
                Ok(result) => result,
                Err(RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(timeout)),
                Err(RecvTimeoutError::Disconnected) => Err(OTelSdkError::AlreadyShutdown),
            },
            Err(TrySendError::Full(_)) => Err(OTelSdkError::InternalFailure(
                "the export thread has too many flushes waiting".into(),
            )),
            Err(TrySendError::Disconnected(_)) => Err(OTelSdkError::AlreadyShutdown),
        }
    }
}

impl<F: Finish> SpanProcessor for BatchProcessor<F> {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    #[inline]
    fn on_end(&self, span: SpanData) {
        self.shared.end(|| SpanParts::from(span));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(Message::Flush, FLUSH_TIMEOUT)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.shared.shut_down.swap(true, Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let result = self.ask(Message::Shutdown, timeout);
        if result.is_ok() {
            let worker = self
                .worker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(worker) = worker {
                // It has answered: it is finishing.
                let _ = worker.join();
            }
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        let _ = self.shared.send(Message::SetResource(resource.clone()));
    }
}

impl<F: Finish> Drop for BatchProcessor<F> {
    fn drop(&mut self) {
        // The export thread stops when its channel closes. The threads' buffer lists may
        // keep the shared state a while, but not a sender.
        self.shared.shut_down.store(true, Ordering::Relaxed);
        self.shared
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// The export thread.
struct Worker<E, F: Finish> {
    shared: Arc<Shared>,
    exporter: E,
    finish: F,
    delay: Duration,
    batch_size: usize,
}

impl<E: StoredExport, F: Finish> Worker<E, F> {
    fn run(mut self, messages: &Receiver<Message>) {
        // Nothing the exporter does makes spans of its own.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut last = Instant::now();
        loop {
            let wait = self.delay.saturating_sub(last.elapsed());
            let message = match messages.recv_timeout(wait) {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match message {
                None | Some(Message::Export) => {
                    let _ = self.export();
                    last = Instant::now();
                }
                Some(Message::Flush(reply)) => {
                    let _ = reply.send(self.export());
                    last = Instant::now();
                }
                Some(Message::Shutdown(reply)) => {
                    let result = self.export();
                    let _ = self.exporter.shutdown();
                    let _ = reply.send(result);
                    break;
                }
                Some(Message::SetResource(resource)) => self.exporter.set_resource(&resource),
            }
        }
        // What a thread's list may still hold of this processor is its own buffer and this
        // state, without the other buffers or what waits in them.
        self.shared.shut_down.store(true, Ordering::Relaxed);
        self.shared.all_buffers().clear();
        *self.shared.orphans.lock() = Ended::new();
    }

    /// Exports every waiting span, in batches of up to `batch_size` across the threads'
    /// buffers; the first failure is the result.
    fn export(&mut self) -> OTelSdkResult {
        // No buffer holds more than the queue.
        let room = usize::try_from(self.shared.capacity).unwrap_or(usize::MAX);
        let taken = self.shared.collect(room);
        let mut left: usize = taken.iter().map(Ended::len).sum();
        if self.exporter.takes_stored() {
            return self.export_stored(&taken, left);
        }
        let mut result = Ok(());
        let mut batch = Vec::new();
        let finish = &self.finish;
        let no_scope = InstrumentationScope::default();
        let spans = taken.iter().flat_map(Ended::iter).map(|stored| {
            let mut span = stored.span_data(&no_scope);
            if stored.scope().is_none() {
                finish.finish(&mut span);
            }
            span
        });
        for span in spans {
            if batch.is_empty() {
                batch.reserve_exact(left.min(self.batch_size));
            }
            batch.push(span);
            left -= 1;
            if batch.len() == self.batch_size || left == 0 {
                let exported =
                    futures_executor::block_on(self.exporter.export(std::mem::take(&mut batch)));
                if result.is_ok() {
                    result = exported;
                }
            }
        }
        result
    }

    /// [`export`](Self::export) for an exporter that takes stored spans: the spans are read
    /// in place from the buffers, and a bridge span becomes a [`SpanData`] only when the
    /// span limits cut it.
    fn export_stored(&self, taken: &[Ended], mut left: usize) -> OTelSdkResult {
        let mut result = Ok(());
        let mut batch = Vec::with_capacity(left.min(self.batch_size));
        let finish = &self.finish;
        let items = taken
            .iter()
            .flat_map(Ended::iter)
            .map(|span| stored_item(span, finish));
        for item in items {
            batch.push(item);
            left -= 1;
            if batch.len() == self.batch_size || left == 0 {
                let exported = futures_executor::block_on(self.exporter.export_stored(&mut batch));
                batch.clear();
                if result.is_ok() {
                    result = exported;
                }
            }
        }
        result
    }
}

mod store;
#[cfg(test)]
mod tests;
