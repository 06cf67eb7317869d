//! The engine: the worker thread that turns triggers into takes. It owns the ONNX sessions (via
//! the loaded model), the history, the takes and the producer ends of the playback rings; it
//! talks to the audio thread only through `bridge`, and never imports `audio`.

pub mod allocator;
pub mod context;
pub mod export;
pub mod feeder;
pub mod history;
pub mod job;
pub mod loader;
pub mod streaming;
pub mod takes;
pub mod worker;

use crate::bridge::{SharedStatus, WorkerCommand, WorkerEvent, EVENT_CAPACITY};
use crate::params::SharedParams;
use crossbeam_channel::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Handle to the worker thread, owned by the plugin. Dropping it stops and joins the thread.
pub struct Engine {
    commands: Sender<WorkerCommand>,
    thread: Option<JoinHandle<()>>,
    pub shared: Arc<SharedStatus>,
}

impl Engine {
    /// Starts the worker thread ("continuo-engine") on a command queue made before the thread
    /// (so a panel can hold a sender early). Returns the handle and the worker's events (drop
    /// the receiver if nobody listens: events are then dropped, the status still tells).
    /// Not real-time safe.
    pub fn spawn(
        params: SharedParams,
        shared: Arc<SharedStatus>,
        commands: Sender<WorkerCommand>,
        command_rx: Receiver<WorkerCommand>,
    ) -> std::io::Result<(Self, Receiver<WorkerEvent>)> {
        allocator::fix_allocator_thresholds();
        let (events, event_rx) = crossbeam_channel::bounded(EVENT_CAPACITY);
        let worker_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("continuo-engine".into())
            .spawn(move || worker::Worker::new(params, worker_shared, command_rx, events).run())?;
        Ok((
            Self {
                commands,
                thread: Some(thread),
                shared,
            },
            event_rx,
        ))
    }

    /// Sends a command without waiting; returns false when the queue is full or the worker is
    /// gone. Not real-time safe.
    pub fn send(&self, command: WorkerCommand) -> bool {
        self.commands.try_send(command).is_ok()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // A full queue still gets the message through: this call may wait for the worker to
        // take one command, which it does within a tick.
        let _ = self.commands.send(WorkerCommand::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
