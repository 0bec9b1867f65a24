use std::sync::mpsc::Sender;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};

use super::*;

/// Sends the size of every batch it gets; counts them as handed over and accepted.
#[derive(Debug)]
struct Sizes {
    sizes: Sender<usize>,
    stats: Arc<Stats>,
    shut_down: Sender<()>,
}

impl StoredExport for Sizes {}

impl SpanExporter for Sizes {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.stats.handed(batch.len());
        self.stats.exported(batch.len() as u64);
        let _ = self.sizes.send(batch.len());
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let _ = self.shut_down.send(());
        Ok(())
    }
}

struct Setup {
    processor: BatchProcessor<SpansOnly>,
    stats: Arc<Stats>,
    sizes: Receiver<usize>,
    shut_down: Receiver<()>,
}

fn setup(batch: BatchSettings) -> Setup {
    let stats = Arc::new(Stats::default());
    let (sizes, sizes_rx) = mpsc::channel();
    let (shut_down, shut_down_rx) = mpsc::channel();
    let exporter = Sizes {
        sizes,
        stats: stats.clone(),
        shut_down,
    };
    Setup {
        processor: BatchProcessor::start(exporter, SpansOnly, batch, stats.clone()).unwrap(),
        stats,
        sizes: sizes_rx,
        shut_down: shut_down_rx,
    }
}

/// Never on schedule during a test; batches of 512.
fn no_schedule() -> BatchSettings {
    BatchSettings::new().with_schedule_delay(Duration::from_secs(3600))
}

fn span() -> SpanData {
    SpanData {
        span_context: SpanContext::empty_context(),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: "work".into(),
        start_time: std::time::SystemTime::now(),
        end_time: std::time::SystemTime::now(),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status: Status::Unset,
        instrumentation_scope: opentelemetry::InstrumentationScope::builder("test").build(),
    }
}

/// The sizes of the batches exported so far.
fn exported(sizes: &Receiver<usize>) -> Vec<usize> {
    sizes.try_iter().collect()
}

#[test]
fn a_flush_exports_the_spans_of_every_thread_running_or_gone() {
    let setup = setup(no_schedule());
    let processor = &setup.processor;
    std::thread::scope(|scope| {
        // Threads that end and are gone before the flush. Joined by hand: a join waits for
        // the thread's end, its thread-locals dropped, where the scope's own wait does not.
        let threads: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| (0..10).for_each(|_| processor.on_end(span()))))
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    });
    let (ended, has_ended) = mpsc::channel();
    let (flushed, was_flushed) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        // A thread still running at the flush.
        scope.spawn(move || {
            (0..7).for_each(|_| processor.on_end(span()));
            ended.send(()).unwrap();
            was_flushed.recv().unwrap();
        });
        has_ended.recv().unwrap();
        processor.on_end(span());
        processor.force_flush().unwrap();
        flushed.send(()).unwrap();
    });
    assert_eq!(exported(&setup.sizes), [38], "one batch across the buffers");
    let counts = setup.stats.snapshot();
    assert_eq!((counts.ended, counts.exported, counts.queued), (38, 38, 0));
    // The buffers of the threads that are gone are gone too.
    assert_eq!(processor.shared.all_buffers().len(), 2);
}

#[test]
fn the_queue_keeps_max_queue_size_spans_and_counts_every_drop() {
    let setup = setup(no_schedule().with_max_queue_size(4));
    (0..6).for_each(|_| setup.processor.on_end(span()));
    assert_eq!(setup.stats.snapshot().dropped_in_queue, 2);
    setup.processor.force_flush().unwrap();
    assert_eq!(exported(&setup.sizes), [4]);
    // Exported spans make room again.
    (0..4).for_each(|_| setup.processor.on_end(span()));
    setup.processor.force_flush().unwrap();
    assert_eq!(exported(&setup.sizes), [4]);
    let counts = setup.stats.snapshot();
    assert_eq!((counts.ended, counts.dropped_in_queue), (10, 2));
}

#[test]
fn a_full_batch_is_exported_without_waiting_for_the_schedule() {
    let setup = setup(no_schedule().with_max_export_batch_size(10));
    (0..10).for_each(|_| setup.processor.on_end(span()));
    let size = setup.sizes.recv_timeout(Duration::from_secs(30));
    assert_eq!(size, Ok(10));
}

#[test]
fn the_spans_of_an_idle_thread_are_exported_on_schedule() {
    let setup = setup(BatchSettings::new().with_schedule_delay(Duration::from_millis(50)));
    let processor = &setup.processor;
    let (done, is_done) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            (0..3).for_each(|_| processor.on_end(span()));
            // Idle, and alive, until its spans are exported.
            is_done.recv().unwrap();
        });
        // The schedule may fall between two of the spans: count until all three.
        let mut sizes = Vec::new();
        while sizes.iter().sum::<usize>() < 3 {
            match setup.sizes.recv_timeout(Duration::from_secs(30)) {
                Ok(size) => sizes.push(size),
                Err(error) => panic!("{error} after {sizes:?}"),
            }
        }
        done.send(()).unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 3, "{sizes:?}");
    });
}

#[test]
fn shutdown_exports_what_waits_shuts_the_exporter_down_and_ignores_later_spans() {
    let setup = setup(no_schedule());
    (0..5).for_each(|_| setup.processor.on_end(span()));
    setup
        .processor
        .shutdown_with_timeout(Duration::from_secs(30))
        .unwrap();
    assert_eq!(exported(&setup.sizes), [5]);
    assert_eq!(setup.shut_down.try_recv(), Ok(()));
    setup.processor.on_end(span());
    assert_eq!(setup.stats.snapshot().ended, 5);
    assert!(setup.processor.force_flush().is_err());
    assert!(matches!(
        setup
            .processor
            .shutdown_with_timeout(Duration::from_secs(1)),
        Err(OTelSdkError::AlreadyShutdown)
    ));
}

#[test]
fn batches_are_at_most_max_export_batch_size() {
    let setup = setup(no_schedule().with_max_export_batch_size(4));
    // Under the wake-up size on each of two threads: the flush makes the batches.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| (0..3).for_each(|_| setup.processor.on_end(span())));
        }
    });
    setup.processor.force_flush().unwrap();
    let mut sizes = exported(&setup.sizes);
    // A full batch may already have woken the export thread.
    sizes.sort_unstable();
    assert_eq!(sizes.iter().sum::<usize>(), 6);
    assert!(sizes.iter().all(|size| *size <= 4), "{sizes:?}");
}

#[test]
fn under_load_from_many_threads_every_span_is_exported_or_counted_as_dropped() {
    const THREADS: usize = 8;
    const SPANS: usize = 5_000;
    // A small queue and batch: the export thread wakes often and the queue fills.
    let setup = setup(
        no_schedule()
            .with_max_queue_size(1_000)
            .with_max_export_batch_size(100),
    );
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| (0..SPANS).for_each(|_| setup.processor.on_end(span())));
        }
    });
    setup.processor.force_flush().unwrap();
    let sizes = exported(&setup.sizes);
    let counts = setup.stats.snapshot();
    assert_eq!(counts.ended, (THREADS * SPANS) as u64);
    assert_eq!(sizes.iter().sum::<usize>() as u64, counts.exported);
    assert_eq!(counts.exported + counts.dropped_in_queue, counts.ended);
    assert_eq!(counts.queued, 0);
    assert!(sizes.iter().all(|size| *size <= 100), "{sizes:?}");
}
