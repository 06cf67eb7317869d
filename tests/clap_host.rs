//! A CLAP host harness around the real plugin binary.
//!
//! It loads the debug `.clap` named by `CONTINUO_TEST_CLAP` through `clack-host` and drives it the
//! way a DAW does: factory and descriptor, instantiation, the audio-ports, note-ports, params and
//! state extensions, activation at several rates and block sizes, and thousands of process calls
//! with a moving (and jumping) transport, parameter automation, MIDI notes and model switches.
//!
//! The binary is built with nice-plug's `assert_process_allocs`: any allocation or free inside
//! `process()` (and inside `start_processing`, `stop_processing` and `reset`, which nice-plug wraps
//! the same way) aborts the whole test process. Every test here that processes audio therefore
//! also proves that the audio thread never allocated, simply by finishing; on top of that each one
//! checks concrete audio: the dry path is bit exact, the test model's 440 Hz tone shows up when a
//! take plays, and nothing is ever non-finite or out of bounds.
//!
//! Threads follow CLAP's rules: each test's own thread is the host's main thread (instantiation,
//! activation, state, params flush, `on_main_thread`), and process calls run on a separate audio
//! thread that starts and stops processing itself. The host answers the thread-check extension so
//! the plugin can tell the two apart.
//!
//! Needs `CONTINUO_TEST_CLAP` and `CONTINUO_TEST_MODELS`; `cargo xtask test` sets both.

use clack_extensions::audio_ports::{AudioPortFlags, AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::latency::PluginLatency;
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
use clack_extensions::note_ports::{NoteDialects, NotePortInfoBuffer, PluginNotePorts};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamRescanFlags, PluginParams,
};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_extensions::thread_check::{HostThreadCheck, HostThreadCheckImpl};
use clack_host::events::event_types::{
    NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::{EventFlags, EventHeader, Match};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};
use serde_json::Value;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

const PLUGIN_ID: &str = "org.continuo.continuo";

/// Host transport: 120 BPM in 4/4, so a beat is half a second and a bar two seconds.
const TEMPO_BPM: f64 = 120.0;
const BEATS_PER_BAR: f64 = 4.0;

/// The test input: a 220 Hz sine at a quarter of full scale on both channels.
const INPUT_HZ: f64 = 220.0;
const INPUT_AMPLITUDE: f64 = 0.25;

/// The `tone` test models emit a 440 Hz cosine at half of full scale (make_test_models.py).
const TONE_HZ: f64 = 440.0;
const TONE_AMPLITUDE: f32 = 0.5;

/// A sample of `out - in` larger than this means generated audio reached the output. The tone is
/// 0.5 in amplitude, so while a take plays nearly every sample is far above it.
const CHANGED_THRESHOLD: f32 = 1e-3;

/// Outputs must stay below this: the input (0.25) plus two crossfading takes (0.5 each) at the
/// largest gain the harness automates (+6 dB) is about 2.5.
const OUTPUT_BOUND: f32 = 4.0;

/// How much faster than real time the processing loops may run by default. The plugin is in
/// real-time mode, so it never waits for its worker; a few times real time gives the worker time to
/// load models and generate, and keeps the whole test well under a few minutes. The long run also
/// has segments in real time (tiny blocks, so that takes get to play) and segments with no
/// pacing at all, where streamed takes underrun as they would on an overloaded machine.
const SPEEDUP_OVER_REALTIME: f64 = 8.0;

/// The 1 MB prompt of the oversized-state case.
const HUGE_PROMPT_BYTES: usize = 1 << 20;

/// Stable string ids of every parameter, by display name. nice-plug's CLAP ids are hashes of these;
/// saved projects and automation depend on them never changing.
const PARAMS: [(&str, &str); 27] = [
    ("Mix", "mix"),
    ("Output Gain", "gain"),
    ("Temperature", "temp"),
    ("Top K", "topk"),
    ("Top P", "topp"),
    ("Guidance", "guide"),
    ("Context", "ctxbars"),
    ("Length", "lenbars"),
    ("Sync", "sync"),
    ("Loop", "loop"),
    ("Generate", "gen"),
    ("Seed", "seed"),
    ("Bounce Mode", "bounce"),
    ("Instrument", "voice"),
    ("Key Lock", "keylock"),
    ("Key Follow", "keyfollow"),
    ("Key", "key"),
    ("Scale", "scale"),
    ("Lowest Note", "lownote"),
    ("Highest Note", "highnote"),
    ("Density", "density"),
    ("Add Part", "addpart"),
    ("Listen To", "listen"),
    ("Prompt 1 Weight", "pw1"),
    ("Prompt 2 Weight", "pw2"),
    ("Prompt 3 Weight", "pw3"),
    ("Prompt 4 Weight", "pw4"),
];

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

struct TestEnv {
    clap_path: PathBuf,
    models_dir: PathBuf,
}

impl TestEnv {
    /// Reads the two variables `cargo xtask test` sets. Fails (never skips) without them.
    fn get() -> Self {
        let var = |name: &str, what: &str| -> PathBuf {
            match std::env::var_os(name).filter(|v| !v.is_empty()) {
                Some(v) => PathBuf::from(v),
                None => panic!(
                    "{name} is not set: it names {what}. Run the tests with `cargo xtask test`, \
                     which builds the plugin with assert_process_allocs and the test models and \
                     sets CONTINUO_TEST_CLAP and CONTINUO_TEST_MODELS."
                ),
            }
        };
        let clap_path = var(
            "CONTINUO_TEST_CLAP",
            "the debug .clap built with assert_process_allocs",
        );
        let models_dir = var("CONTINUO_TEST_MODELS", "the folder of test models");
        assert!(
            clap_path.is_file(),
            "CONTINUO_TEST_CLAP={} is not a file; run `cargo xtask test`",
            clap_path.display()
        );
        assert!(
            models_dir.join("tone").join("continuo.toml").is_file(),
            "CONTINUO_TEST_MODELS={} has no tone/continuo.toml; run `cargo xtask test`",
            models_dir.display()
        );
        Self {
            clap_path,
            models_dir,
        }
    }

    fn entry(&self) -> PluginEntry {
        // SAFETY: loading a CLAP runs its entry's init; the file is our own plugin, built for this
        // test, and clack-host keeps the library loaded while any PluginEntry lives.
        unsafe { PluginEntry::load(&self.clap_path) }
            .unwrap_or_else(|err| panic!("could not load {}: {err}", self.clap_path.display()))
    }

    fn model(&self, name: &str) -> String {
        self.models_dir
            .join(name)
            .to_str()
            .expect("UTF-8 model path")
            .to_string()
    }
}

/// Seed of every random choice in this file: `CONTINUO_TEST_SEED` or a fixed default, printed so a
/// failure can be replayed.
fn test_seed(test_name: &str) -> u64 {
    let seed = std::env::var("CONTINUO_TEST_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0xC0_471A_0D15_EA5E);
    println!("[{test_name}] seed {seed} (set CONTINUO_TEST_SEED to replay another)");
    seed
}

/// SplitMix64: tiny, seedable and good enough to pick block sizes and events.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = HostShared;
    type MainThread<'a> = HostMainThread;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostLog>()
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostThreadCheck>();
    }
}

thread_local! {
    /// Set on the harness's audio threads, for the thread-check extension.
    static IS_AUDIO_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// What any thread of the plugin may call. Only atomics: `request_callback` comes from the audio
/// thread inside `process()`.
struct HostShared {
    main_thread: ThreadId,
    callback_requested: AtomicBool,
    /// The plugin asks for a restart when its latency changes; it never should.
    num_restart_requests: AtomicU32,
}

impl HostShared {
    fn new() -> Self {
        Self {
            main_thread: std::thread::current().id(),
            callback_requested: AtomicBool::new(false),
            num_restart_requests: AtomicU32::new(0),
        }
    }
}

impl<'a> SharedHandler<'a> for HostShared {
    fn request_restart(&self) {
        self.num_restart_requests.fetch_add(1, Ordering::Relaxed);
    }

    fn request_process(&self) {}

    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::Release);
    }
}

impl HostThreadCheckImpl for HostShared {
    fn is_main_thread(&self) -> bool {
        std::thread::current().id() == self.main_thread
    }

    fn is_audio_thread(&self) -> bool {
        IS_AUDIO_THREAD.with(Cell::get)
    }
}

impl HostLogImpl for HostShared {
    fn log(&self, severity: LogSeverity, message: &str) {
        eprintln!("[plugin log {severity:?}] {message}");
    }
}

impl HostParamsImplShared for HostShared {
    /// Only a panel changing parameters outside `process()` asks for this; the harness has none.
    fn request_flush(&self) {}
}

/// Main-thread callbacks: rescans are counted, so a test can see that a state load told the host
/// to read the values again.
#[derive(Default)]
struct HostMainThread {
    num_rescans: Cell<u32>,
}

impl<'a> MainThreadHandler<'a> for HostMainThread {}

impl HostParamsImplMainThread for HostMainThread {
    fn rescan(&self, _flags: ParamRescanFlags) {
        self.num_rescans.set(self.num_rescans.get() + 1);
    }

    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostStateImpl for HostMainThread {
    /// The harness saves when it wants to; it does not track unsaved changes.
    fn mark_dirty(&self) {}
}

type Stopped = StoppedPluginAudioProcessor<TestHost>;
type Started = StartedPluginAudioProcessor<TestHost>;

/// Information about one parameter, as the params extension reports it.
#[derive(Debug, Clone)]
struct ParamDesc {
    id: ClapId,
    min: f64,
    max: f64,
    default: f64,
}

/// One plugin instance with the extensions this harness uses. Lives on the test's (main) thread.
struct Plugin {
    instance: PluginInstance<TestHost>,
    params: PluginParams,
    state: PluginState,
    audio_ports: PluginAudioPorts,
    note_ports: PluginNotePorts,
    latency: PluginLatency,
    by_name: BTreeMap<String, ParamDesc>,
}

impl Plugin {
    fn new(entry: &PluginEntry) -> Self {
        let host_info = HostInfo::new(
            "continuo-test-host",
            "Continuo",
            "https://example.invalid",
            "0.1.0",
        )
        .expect("host info");
        let id = CString::new(PLUGIN_ID).unwrap();
        let mut instance = PluginInstance::<TestHost>::new(
            |_| HostShared::new(),
            |_| HostMainThread::default(),
            entry,
            &id,
            &host_info,
        )
        .expect("the plugin instantiates");
        let shared = instance.plugin_shared_handle();
        let params: PluginParams = shared.get_extension().expect("params extension");
        let state: PluginState = shared.get_extension().expect("state extension");
        let audio_ports: PluginAudioPorts = shared.get_extension().expect("audio-ports extension");
        let note_ports: PluginNotePorts = shared.get_extension().expect("note-ports extension");
        let latency: PluginLatency = shared.get_extension().expect("latency extension");

        let handle = instance.plugin_handle();
        let mut by_name = BTreeMap::new();
        let mut buffer = ParamInfoBuffer::new();
        // Indices 0..count only: nice-plug 0.4.2 checks `index > count`, so asking for index
        // `count` would index out of bounds inside the plugin.
        for idx in 0..params.count(&handle) {
            let info = params
                .get_info(&handle, idx, &mut buffer)
                .expect("param info");
            let name = String::from_utf8_lossy(info.name).into_owned();
            let desc = ParamDesc {
                id: info.id,
                min: info.min_value,
                max: info.max_value,
                default: info.default_value,
            };
            assert!(
                by_name.insert(name.clone(), desc).is_none(),
                "two parameters named {name}"
            );
        }
        Self {
            instance,
            params,
            state,
            audio_ports,
            note_ports,
            latency,
            by_name,
        }
    }

    fn param(&self, name: &str) -> &ParamDesc {
        self.by_name.get(name).unwrap_or_else(|| {
            panic!(
                "no parameter named {name:?}; have {:?}",
                self.by_name.keys()
            )
        })
    }

    fn id(&self, name: &str) -> ClapId {
        self.param(name).id
    }

    fn value(&mut self, name: &str) -> f64 {
        let id = self.id(name);
        self.params
            .get_value(&self.instance.plugin_handle(), id)
            .unwrap_or_else(|| panic!("get_value({name})"))
    }

    /// Sets parameters through `flush` while the plugin is inactive.
    fn flush(&mut self, changes: &[(&str, f64)]) {
        let events = self.param_events(changes);
        let mut out = EventBuffer::new();
        let mut handle = self
            .instance
            .inactive_plugin_handle()
            .expect("flush() needs an inactive plugin");
        self.params
            .flush(&mut handle, &events.as_input(), &mut out.as_output());
    }

    /// Sets parameters through `flush` while the plugin is active but not processing.
    fn flush_active(&self, processor: &mut Stopped, changes: &[(&str, f64)]) {
        let events = self.param_events(changes);
        let mut out = EventBuffer::new();
        self.params.flush_active(
            &mut processor.plugin_handle(),
            &events.as_input(),
            &mut out.as_output(),
        );
    }

    fn param_events(&self, changes: &[(&str, f64)]) -> EventBuffer {
        let mut events = EventBuffer::new();
        for &(name, value) in changes {
            events.push(&ParamValueEvent::new(
                0,
                self.id(name),
                Pckn::match_all(),
                value,
            ));
        }
        events
    }

    fn save(&mut self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.state
            .save(&self.instance.plugin_handle(), &mut bytes)
            .expect("state save succeeds");
        bytes
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), clack_extensions::state::StateError> {
        let mut reader = bytes;
        let result = self.state.load(&self.instance.plugin_handle(), &mut reader);
        self.pump_main_thread();
        result
    }

    fn activate(&mut self, sample_rate: f64, max_frames: u32) -> Stopped {
        self.instance
            .activate(
                |_, _| (),
                PluginAudioConfiguration {
                    sample_rate,
                    min_frames_count: 1,
                    max_frames_count: max_frames,
                },
            )
            .unwrap_or_else(|err| {
                panic!("activate at {sample_rate} Hz, {max_frames} frames: {err}")
            })
    }

    fn deactivate(&mut self, processor: Stopped) {
        self.instance.deactivate(processor);
        self.pump_main_thread();
    }

    /// Runs `on_main_thread` when the plugin asked for it, as a host's event loop would.
    fn pump_main_thread(&mut self) {
        let requested = self
            .instance
            .access_shared_handler(|h| h.callback_requested.swap(false, Ordering::AcqRel));
        if requested {
            self.instance.call_on_main_thread_callback();
        }
    }

    fn num_rescans(&self) -> u32 {
        self.instance.access_handler(|h| h.num_rescans.get())
    }

    fn num_restart_requests(&self) -> u32 {
        self.instance
            .access_shared_handler(|h| h.num_restart_requests.load(Ordering::Relaxed))
    }

    /// Runs `audio` on a new audio thread: it starts processing, runs, and stops processing there,
    /// as CLAP requires; meanwhile this (main) thread serves `on_main_thread` requests. Returns the
    /// stopped processor for the main thread to deactivate or restart.
    fn run_audio<R: Send>(
        &mut self,
        processor: Stopped,
        audio: impl FnOnce(&mut Started) -> R + Send,
    ) -> (Stopped, R) {
        std::thread::scope(|scope| {
            let audio_thread = scope.spawn(move || {
                IS_AUDIO_THREAD.with(|c| c.set(true));
                let mut started = processor.start_processing().expect("start_processing");
                let result = audio(&mut started);
                (started.stop_processing(), result)
            });
            while !audio_thread.is_finished() {
                self.pump_main_thread();
                std::thread::sleep(Duration::from_millis(1));
            }
            let result = match audio_thread.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            self.pump_main_thread();
            result
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Audio, events and transport
// ---------------------------------------------------------------------------------------------

/// Host-side buffers for one stereo in, stereo out plugin.
struct AudioIo {
    sample_rate: f64,
    inputs: [Vec<f32>; 2],
    outputs: [Vec<f32>; 2],
    input_ports: AudioPorts,
    output_ports: AudioPorts,
    events: EventBuffer,
    out_events: EventBuffer,
    /// Frames processed since activation (the steady time).
    num_frames_done: u64,
    /// Phase of the input sine, in frames since activation.
    input_phase_frames: u64,
}

impl AudioIo {
    fn new(sample_rate: f64, max_frames: u32) -> Self {
        let n = max_frames as usize;
        Self {
            sample_rate,
            inputs: [vec![0.0; n], vec![0.0; n]],
            outputs: [vec![0.0; n], vec![0.0; n]],
            input_ports: AudioPorts::with_capacity(2, 1),
            output_ports: AudioPorts::with_capacity(2, 1),
            events: EventBuffer::with_capacity(64),
            out_events: EventBuffer::with_capacity(64),
            num_frames_done: 0,
            input_phase_frames: 0,
        }
    }

    /// Writes the next `len` frames of the input sine into both input channels.
    fn fill_input(&mut self, len: usize) {
        let step = std::f64::consts::TAU * INPUT_HZ / self.sample_rate;
        for i in 0..len {
            let t = (self.input_phase_frames + i as u64) as f64;
            let s = (INPUT_AMPLITUDE * (step * t).sin()) as f32;
            self.inputs[0][i] = s;
            self.inputs[1][i] = s;
        }
        self.input_phase_frames += len as u64;
    }

    /// Processes `len` frames of the current input with the queued events. The outputs are
    /// filled with NaN first, so a sample the plugin fails to write cannot pass the checks.
    fn process(&mut self, processor: &mut Started, len: usize, transport: Option<&TransportEvent>) {
        for out in &mut self.outputs {
            out[..len].fill(f32::NAN);
        }
        self.out_events.clear();
        let [in_l, in_r] = &mut self.inputs;
        let inputs = self.input_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only([
                InputChannel::variable(&mut in_l[..len]),
                InputChannel::variable(&mut in_r[..len]),
            ]),
        }]);
        let [out_l, out_r] = &mut self.outputs;
        let mut outputs = self.output_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only([&mut out_l[..len], &mut out_r[..len]]),
        }]);
        processor
            .process(
                &inputs,
                &mut outputs,
                &self.events.as_input(),
                &mut self.out_events.as_output(),
                Some(self.num_frames_done),
                transport,
            )
            .expect("process() returned an error");
        self.num_frames_done += len as u64;
        self.events.clear();
    }

    fn out(&self, channel: usize, len: usize) -> &[f32] {
        &self.outputs[channel][..len]
    }

    fn input(&self, channel: usize, len: usize) -> &[f32] {
        &self.inputs[channel][..len]
    }

    /// Whether the last block's output equals its input, bit for bit.
    fn output_is_input(&self, len: usize) -> bool {
        (0..2).all(|c| {
            self.out(c, len)
                .iter()
                .zip(self.input(c, len))
                .all(|(o, i)| o.to_bits() == i.to_bits())
        })
    }

    /// Panics unless every output sample of the last block is finite and bounded.
    fn assert_sane_output(&self, len: usize, context: &str) {
        for c in 0..2 {
            if let Some((idx, x)) = self
                .out(c, len)
                .iter()
                .enumerate()
                .find(|(_, x)| !x.is_finite() || x.abs() >= OUTPUT_BOUND)
            {
                panic!("{context}: output channel {c} frame {idx} is {x} (block of {len} frames)");
            }
        }
    }
}

/// The host's musical position. Advances with the frames processed; can jump and stop.
struct Transport {
    playing: bool,
    pos_beats: f64,
}

impl Transport {
    fn event(&self) -> TransportEvent {
        let bar_idx = (self.pos_beats / BEATS_PER_BAR).floor();
        let mut flags = TransportFlags::HAS_TEMPO
            | TransportFlags::HAS_BEATS_TIMELINE
            | TransportFlags::HAS_SECONDS_TIMELINE
            | TransportFlags::HAS_TIME_SIGNATURE;
        if self.playing {
            flags |= TransportFlags::IS_PLAYING;
        }
        TransportEvent {
            header: EventHeader::new_core(0, EventFlags::empty()),
            flags,
            song_pos_beats: BeatTime::from_float(self.pos_beats),
            song_pos_seconds: SecondsTime::from_float(self.pos_beats * 60.0 / TEMPO_BPM),
            tempo: TEMPO_BPM,
            tempo_inc: 0.0,
            loop_start_beats: BeatTime::from_int(0),
            loop_end_beats: BeatTime::from_int(0),
            loop_start_seconds: SecondsTime::from_int(0),
            loop_end_seconds: SecondsTime::from_int(0),
            bar_start: BeatTime::from_float(bar_idx * BEATS_PER_BAR),
            bar_number: bar_idx as i32,
            time_signature_numerator: 4,
            time_signature_denominator: 4,
        }
    }

    fn advance(&mut self, num_frames: usize, sample_rate: f64) {
        if self.playing {
            self.pos_beats += num_frames as f64 / sample_rate * TEMPO_BPM / 60.0;
        }
    }
}

/// Sleeps so that processing runs at most `speedup` times faster than real time; `None` runs as
/// fast as the machine allows.
struct Pacer {
    started: Instant,
    audio_seconds: f64,
    speedup: Option<f64>,
}

impl Pacer {
    fn new(speedup: Option<f64>) -> Self {
        Self {
            started: Instant::now(),
            audio_seconds: 0.0,
            speedup,
        }
    }

    fn advance(&mut self, num_frames: usize, sample_rate: f64) {
        let Some(speedup) = self.speedup else {
            return;
        };
        self.audio_seconds += num_frames as f64 / sample_rate;
        let due = Duration::from_secs_f64(self.audio_seconds / speedup);
        let elapsed = self.started.elapsed();
        if due > elapsed + Duration::from_millis(1) {
            std::thread::sleep(due - elapsed);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// State helpers: nice-plug's CLAP state is an 8-byte little-endian length, then JSON.
// ---------------------------------------------------------------------------------------------

fn state_json(bytes: &[u8]) -> Value {
    assert!(
        bytes.len() >= 8,
        "state of {} bytes has no length prefix",
        bytes.len()
    );
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(
        len,
        bytes.len() - 8,
        "state length prefix disagrees with its size"
    );
    serde_json::from_slice(&bytes[8..]).expect("saved state is JSON")
}

fn state_bytes(json: &Value) -> Vec<u8> {
    framed(serde_json::to_vec(json).unwrap())
}

fn framed(body: Vec<u8>) -> Vec<u8> {
    let mut bytes = (body.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&body);
    bytes
}

/// A persisted field's value: nice-plug stores each as a JSON document inside a JSON string.
fn field(json: &Value, key: &str) -> Value {
    let text = json["fields"][key]
        .as_str()
        .unwrap_or_else(|| panic!("state has no field {key}: {json}"));
    serde_json::from_str(text)
        .unwrap_or_else(|err| panic!("field {key} is not JSON ({err}): {text}"))
}

fn with_field(json: &Value, key: &str, value: &Value) -> Value {
    let mut json = json.clone();
    json["fields"][key] = Value::String(value.to_string());
    json
}

fn with_model_dir(json: &Value, dir: &str) -> Value {
    with_field(json, "model-dir", &Value::String(dir.to_string()))
}

/// nice-plug's CLAP parameter id for a string id (its `hash_param_id`).
fn clap_hash(string_id: &str) -> u32 {
    let mut hash: u32 = 0;
    for byte in string_id.bytes() {
        hash = hash.wrapping_mul(31).wrapping_add(byte as u32);
    }
    hash & !(1 << 31)
}

// ---------------------------------------------------------------------------------------------
// 1. Loading, descriptor, ports, activation at every rate and block size
// ---------------------------------------------------------------------------------------------

#[test]
fn loads_describes_and_activates() {
    let env = TestEnv::get();
    let entry = env.entry();
    let factory = entry
        .get_plugin_factory()
        .expect("the entry has a plugin factory");
    assert_eq!(
        factory.plugin_count(),
        1,
        "exactly one plugin in the bundle"
    );
    let descriptor = factory.plugin_descriptor(0).expect("descriptor 0");
    assert_eq!(descriptor.id().unwrap().to_str().unwrap(), PLUGIN_ID);
    assert_eq!(descriptor.name().unwrap().to_str().unwrap(), "Continuo");
    let features: Vec<String> = descriptor
        .features()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    assert!(
        features.iter().any(|f| f == "audio-effect"),
        "features: {features:?}"
    );

    let mut plugin = Plugin::new(&entry);
    {
        let handle = plugin.instance.plugin_handle();
        let ports = plugin.audio_ports;
        assert_eq!(ports.count(&handle, true), 1, "one audio input port");
        assert_eq!(ports.count(&handle, false), 1, "one audio output port");
        for is_input in [true, false] {
            let mut buffer = AudioPortInfoBuffer::new();
            let info = ports
                .get(&handle, 0, is_input, &mut buffer)
                .expect("port info");
            assert_eq!(info.channel_count, 2, "stereo port (input: {is_input})");
            assert!(info.flags.contains(AudioPortFlags::IS_MAIN));
            let port_type = info.port_type.map(|t| t.0.to_string_lossy().into_owned());
            assert_eq!(port_type.as_deref(), Some("stereo"));
        }
        let notes = plugin.note_ports;
        assert_eq!(notes.count(&handle, true), 1, "one note input port");
        let mut buffer = NotePortInfoBuffer::new();
        let info = notes
            .get(&handle, 0, true, &mut buffer)
            .expect("note port info");
        assert!(info.supported_dialects.contains(NoteDialects::CLAP));
        assert!(info.supported_dialects.contains(NoteDialects::MIDI));
    }

    // Every rate with every maximum block size: activate, process the largest and the smallest
    // block, and check that the dry path is bit exact with the default mix and gain.
    for sample_rate in [44_100.0, 48_000.0, 96_000.0] {
        for max_frames in [64u32, 512, 4096] {
            let processor = plugin.activate(sample_rate, max_frames);
            let latency = plugin.latency.get(&plugin.instance.plugin_handle());
            assert_eq!(latency, 0, "the dry path adds no latency");
            let (processor, ()) = plugin.run_audio(processor, |p| {
                let mut io = AudioIo::new(sample_rate, max_frames);
                let transport = Transport {
                    playing: true,
                    pos_beats: 0.0,
                };
                for len in [max_frames as usize, 1, (max_frames as usize / 2).max(1)] {
                    io.fill_input(len);
                    io.process(p, len, Some(&transport.event()));
                    io.assert_sane_output(len, "activation matrix");
                    assert!(
                        io.output_is_input(len),
                        "{sample_rate} Hz, max {max_frames}: a {len}-frame block is not passed through bit exact"
                    );
                }
            });
            plugin.deactivate(processor);
        }
    }
    println!("[loads_describes_and_activates] 9 activations (44.1/48/96 kHz x 64/512/4096 frames) passed audio bit exact");
}

// ---------------------------------------------------------------------------------------------
// 2. The params extension
// ---------------------------------------------------------------------------------------------

#[test]
fn params_extension() {
    let env = TestEnv::get();
    let entry = env.entry();
    let mut plugin = Plugin::new(&entry);

    for (name, string_id) in PARAMS {
        let desc = plugin.param(name).clone();
        assert_eq!(
            desc.id.get(),
            clap_hash(string_id),
            "parameter {name} must keep its stable id {string_id:?}"
        );
        assert!(
            desc.min <= desc.default && desc.default <= desc.max,
            "{name}: {desc:?}"
        );
        let value = plugin.value(name);
        assert_eq!(value, desc.default, "{name} starts at its default");
    }
    assert_eq!(
        plugin.by_name.len(),
        PARAMS.len(),
        "params: {:?}",
        plugin.by_name.keys()
    );

    let text = |plugin: &mut Plugin, name: &str, value: f64| -> String {
        let id = plugin.id(name);
        let mut buffer = [0u8; 256];
        let text = plugin
            .params
            .value_to_text(&plugin.instance.plugin_handle(), id, value, &mut buffer)
            .unwrap_or_else(|_| panic!("value_to_text({name})"));
        String::from_utf8_lossy(text).into_owned()
    };
    let gain_default = plugin.param("Output Gain").default;
    let gain_text = text(&mut plugin, "Output Gain", gain_default);
    assert!(gain_text.contains("dB"), "Output Gain reads {gain_text:?}");
    // Stepped parameters are exposed as their step index: Length 0 is 1 bar.
    let length_text = text(&mut plugin, "Length", 3.0);
    assert!(
        length_text.contains('4') && length_text.contains("bar"),
        "Length 3 reads {length_text:?}"
    );
    let sync_text = text(&mut plugin, "Sync", 2.0);
    assert!(sync_text.contains("bar"), "Sync 2 reads {sync_text:?}");

    // text_to_value inverts value_to_text.
    let gain_id = plugin.id("Output Gain");
    let six_db_text = text(&mut plugin, "Output Gain", 0.75);
    let parsed = plugin
        .params
        .text_to_value(
            &plugin.instance.plugin_handle(),
            gain_id,
            &CString::new(six_db_text.clone()).unwrap(),
        )
        .unwrap_or_else(|| panic!("text_to_value({six_db_text:?})"));
    assert!(
        (parsed - 0.75).abs() < 1e-3,
        "{six_db_text:?} parsed back as {parsed}"
    );

    // flush() while inactive sets values the plugin reports back.
    let mix_before = plugin.value("Mix");
    plugin.flush(&[
        ("Mix", 0.2),
        ("Seed", 4242.0),
        ("Loop", 1.0),
        ("Length", 7.0),
    ]);
    let mix_after = plugin.value("Mix");
    assert_ne!(mix_before, mix_after);
    assert!(
        (mix_after - 0.2).abs() < 1e-6,
        "Mix reads {mix_after} after flushing 0.2"
    );
    assert_eq!(plugin.value("Seed").round(), 4242.0);
    assert_eq!(plugin.value("Loop").round(), 1.0);
    assert_eq!(plugin.value("Length").round(), 7.0);
    let mix_text = text(&mut plugin, "Mix", mix_after);
    assert!(mix_text.contains("20"), "Mix 0.2 reads {mix_text:?}");

    // Out-of-range values from a misbehaving host are clamped, never stored as is.
    plugin.flush(&[("Mix", 7.5), ("Seed", -3.0)]);
    for name in ["Mix", "Seed"] {
        let desc = plugin.param(name).clone();
        let v = plugin.value(name);
        assert!(
            v.is_finite() && desc.min <= v && v <= desc.max,
            "{name} reads {v}, range {desc:?}"
        );
    }

    // flush_active while active and not processing works too.
    let mut processor = plugin.activate(48_000.0, 512);
    plugin.flush_active(&mut processor, &[("Mix", 0.5), ("Top P", 0.9)]);
    assert!((plugin.value("Mix") - 0.5).abs() < 1e-6);
    assert!((plugin.value("Top P") - 0.9).abs() < 1e-6);
    plugin.deactivate(processor);
    println!(
        "[params_extension] {} params with stable ids; flush and value_to_text checked",
        PARAMS.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 3. State: round trip into a new instance
// ---------------------------------------------------------------------------------------------

#[test]
fn state_round_trips_into_a_new_instance() {
    let env = TestEnv::get();
    let entry = env.entry();
    let mut a = Plugin::new(&entry);
    a.flush(&[
        ("Mix", 0.3),
        ("Seed", 1234.0),
        ("Loop", 1.0),
        ("Sync", 0.0),
        ("Length", 6.0),
        ("Output Gain", 0.75),
        ("Top K", 40.0),
    ]);
    let saved = state_json(&a.save());
    let prompt = "dusty lo-fi keys, warm tape \u{2014} \"quoted\" \\ and a newline\n";
    let with_prompt = with_field(&saved, "prompt", &Value::String(prompt.into()));
    let with_prompt = with_model_dir(&with_prompt, &env.model("tone"));
    let rescans_before = a.num_rescans();
    a.load(&state_bytes(&with_prompt))
        .expect("a valid state loads");
    assert!(
        a.num_rescans() > rescans_before,
        "a state load asks the host to rescan values"
    );

    let state_a = a.save();
    let json_a = state_json(&state_a);
    let params = &json_a["params"];
    // nice-plug tags each saved value with its type: {"f32": 0.3}, {"i32": 7}, {"bool": true}.
    assert!(
        (params["mix"]["f32"].as_f64().unwrap() - 0.3).abs() < 1e-6,
        "{params}"
    );
    assert_eq!(params["seed"], serde_json::json!({ "i32": 1234 }));
    assert_eq!(params["loop"], serde_json::json!({ "bool": true }));
    assert_eq!(params["sync"], serde_json::json!({ "string": "now" }));
    assert_eq!(params["lenbars"], serde_json::json!({ "i32": 7 }));
    assert!(
        (params["gain"]["f32"].as_f64().unwrap() + 6.0).abs() < 1e-4,
        "{params}"
    );
    assert_eq!(field(&json_a, "prompt"), Value::String(prompt.into()));
    assert_eq!(
        field(&json_a, "model-dir"),
        Value::String(env.model("tone"))
    );
    assert!(field(&json_a, "editor-size").is_array());

    let mut b = Plugin::new(&entry);
    b.load(&state_a)
        .expect("the saved state loads into a new instance");
    let json_b = state_json(&b.save());
    assert_eq!(
        json_a["params"], json_b["params"],
        "params survive the round trip"
    );
    assert_eq!(
        json_a["fields"], json_b["fields"],
        "fields survive the round trip"
    );
    for (name, _) in PARAMS {
        assert_eq!(a.value(name), b.value(name), "{name} after the round trip");
    }

    // The state also survives activation and processing, and loads into an active instance
    // (processing stopped) as CLAP allows.
    let mut processor = b.activate(48_000.0, 256);
    let (p, ()) = b.run_audio(processor, |p| {
        let mut io = AudioIo::new(48_000.0, 256);
        for _ in 0..8 {
            io.fill_input(256);
            io.process(p, 256, None);
            io.assert_sane_output(256, "round trip");
        }
    });
    processor = p;
    b.load(&state_a).expect("state loads while active");
    assert_eq!(state_json(&b.save())["params"], json_a["params"]);
    b.deactivate(processor);
    println!("[state_round_trips_into_a_new_instance] params and fields identical after save -> new instance -> save");
}

// ---------------------------------------------------------------------------------------------
// 4. Corrupt and hostile states
// ---------------------------------------------------------------------------------------------

/// What a hostile state may do.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// The load must fail.
    Refused,
    /// Either outcome is fine; nothing may crash and the values must stay in range.
    Either,
    /// The state is well formed and must load.
    Loads,
}

/// Panics unless every parameter reads finite and inside its range (after a state load).
fn assert_params_in_range(plugin: &mut Plugin, label: &str) {
    for (name, _) in PARAMS {
        let desc = plugin.param(name).clone();
        let v = plugin.value(name);
        assert!(
            v.is_finite() && desc.min <= v && v <= desc.max,
            "{label}: {name} reads {v} outside {}..{}",
            desc.min,
            desc.max
        );
    }
}

#[test]
fn corrupt_states_are_refused_or_clamped() {
    let env = TestEnv::get();
    let entry = env.entry();
    let mut rng = Rng(test_seed("corrupt_states_are_refused_or_clamped"));

    let base = state_json(&Plugin::new(&entry).save());
    let base_body = serde_json::to_vec(&base).unwrap();

    let mut cases: Vec<(String, Vec<u8>, Expect)> = vec![
        ("empty stream".into(), Vec::new(), Expect::Refused),
        (
            "only a length".into(),
            100u64.to_le_bytes().to_vec(),
            Expect::Refused,
        ),
        ("random bytes".into(), rng.bytes(4096), Expect::Refused),
        (
            "valid length, random body".into(),
            framed(rng.bytes(777)),
            Expect::Refused,
        ),
        (
            "length beyond the data".into(),
            {
                let mut b = 100_000u64.to_le_bytes().to_vec();
                b.extend_from_slice(&base_body[..base_body.len() / 2]);
                b
            },
            Expect::Refused,
        ),
        (
            "absurd length".into(),
            u64::MAX.to_le_bytes().to_vec(),
            Expect::Refused,
        ),
        (
            "deeply nested JSON".into(),
            framed(
                format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
            ),
            Expect::Refused,
        ),
        (
            "JSON that is not an object".into(),
            framed(b"[1,2,3]".to_vec()),
            Expect::Refused,
        ),
    ];
    for _ in 0..4 {
        let cut = rng.range(1, base_body.len() as u64 - 1) as usize;
        cases.push((
            format!("JSON truncated at byte {cut}"),
            framed(base_body[..cut].to_vec()),
            Expect::Refused,
        ));
    }
    // Well-formed JSON with hostile contents.
    let mut wrong_types = base.clone();
    wrong_types["version"] = Value::String("99.0.0".into());
    // Values of the wrong type for their parameter (out-of-range values of the right type are
    // `out_of_range_state_values_are_survived`'s business).
    wrong_types["params"] = serde_json::json!({
        "mix": { "string": "loud" }, "gain": { "bool": true }, "temp": { "i32": 7 },
        "topk": { "f32": 1e30 }, "topp": { "bool": true }, "ctxbars": { "string": "x" },
        "lenbars": { "f32": 1e9 }, "sync": { "string": "sideways" }, "loop": { "i32": 3 },
        "seed": { "bool": false }, "no-such-param": { "f32": 1.0 }
    });
    wrong_types["fields"]["prompt"] = Value::String("not json at all".into());
    wrong_types["fields"]["editor-size"] = Value::String("[-1, 99999999999]".into());
    wrong_types["fields"]["model-dir"] = Value::String("42".into());
    wrong_types["fields"]["unknown-field"] = Value::String("{}".into());
    cases.push((
        "wrong types and out-of-range values".into(),
        state_bytes(&wrong_types),
        Expect::Either,
    ));
    let mut untagged = base.clone();
    untagged["version"] = Value::from(-1);
    untagged["params"] = serde_json::json!({ "mix": "loud", "gain": 1e30, "seed": -5 });
    cases.push((
        "untagged values and a numeric version".into(),
        state_bytes(&untagged),
        Expect::Either,
    ));
    let mut no_params = base.clone();
    no_params.as_object_mut().unwrap().remove("params");
    cases.push((
        "no params object".into(),
        state_bytes(&no_params),
        Expect::Either,
    ));

    let huge_ascii = "a".repeat(HUGE_PROMPT_BYTES);
    let huge_multibyte = "\u{e9}".repeat(HUGE_PROMPT_BYTES / 2 + 1);
    for (label, prompt) in [
        ("1 MB ASCII prompt", &huge_ascii),
        ("1 MB two-byte prompt", &huge_multibyte),
    ] {
        let json = with_field(&base, "prompt", &Value::String(prompt.clone()));
        cases.push((label.into(), state_bytes(&json), Expect::Either));
    }
    // Model folders that must be refused: the plugin keeps passing audio and generates nothing.
    for model in ["bad-inputs", "truncated", "missing-file", "escape"] {
        let json = with_model_dir(&base, &env.model(model));
        cases.push((
            format!("model-dir {model}"),
            state_bytes(&json),
            Expect::Loads,
        ));
    }
    for (label, dir) in [
        (
            "model-dir that does not exist",
            "/nonexistent/continuo-model",
        ),
        ("model-dir that is a file", env.clap_path.to_str().unwrap()),
        ("model-dir with a NUL byte", "/tmp/bad\u{0}dir"),
    ] {
        cases.push((
            label.into(),
            state_bytes(&with_model_dir(&base, dir)),
            Expect::Loads,
        ));
    }

    let mut num_refused = 0;
    for (label, bytes, expect) in &cases {
        // A fresh instance per case: it has never loaded a model, so with a refused model folder no
        // take can ever play and every block must be the dry input.
        let mut plugin = Plugin::new(&entry);
        let result = plugin.load(bytes);
        match expect {
            Expect::Refused => assert!(result.is_err(), "{label}: a corrupt state was accepted"),
            Expect::Loads => assert!(result.is_ok(), "{label}: a well-formed state was refused"),
            Expect::Either => {}
        }
        if result.is_err() {
            num_refused += 1;
        }
        assert_params_in_range(&mut plugin, label);
        let model_refused = label.starts_with("model-dir");
        let prompt_case = label.contains("prompt");
        // Triggers only where no model can load; elsewhere a bundled default model could play.
        let num_blocks = if model_refused { 160 } else { 6 };
        let (sample_rate, max_frames) = (48_000.0, 1024);
        let processor = plugin.activate(sample_rate, max_frames);
        let label_ref = label.as_str();
        let (processor, ()) = plugin.run_audio(processor, |p| {
            let mut io = AudioIo::new(sample_rate, max_frames);
            let mut transport = Transport {
                playing: true,
                pos_beats: 0.0,
            };
            let generate = ClapId::new(clap_hash("gen"));
            let mut pacer = Pacer::new(Some(SPEEDUP_OVER_REALTIME));
            for block_idx in 0..num_blocks {
                let len = 1024;
                if model_refused && block_idx % 40 == 2 {
                    io.events
                        .push(&ParamValueEvent::new(0, generate, Pckn::match_all(), 1.0));
                }
                if model_refused && block_idx % 40 == 5 {
                    io.events
                        .push(&ParamValueEvent::new(0, generate, Pckn::match_all(), 0.0));
                }
                io.fill_input(len);
                io.process(p, len, Some(&transport.event()));
                transport.advance(len, sample_rate);
                io.assert_sane_output(len, label_ref);
                assert!(
                    io.output_is_input(len) || (block_idx > 0 && !model_refused),
                    "{label_ref}: block {block_idx} is not the dry input"
                );
                pacer.advance(len, sample_rate);
            }
        });
        if prompt_case && result.is_ok() {
            // Activation cuts an oversized prompt; what is saved now is short and a prefix.
            let saved = field(&state_json(&plugin.save()), "prompt");
            let saved = saved.as_str().expect("prompt is a string");
            assert!(
                saved.len() <= continuo::params::MAX_PROMPT_BYTES,
                "{label}: the prompt is still {} bytes after activation",
                saved.len()
            );
            let original = if label.contains("ASCII") {
                &huge_ascii
            } else {
                &huge_multibyte
            };
            assert!(
                original.starts_with(saved) && !saved.is_empty(),
                "{label}: prompt not cut to a prefix"
            );
        }
        plugin.deactivate(processor);
    }
    println!(
        "[corrupt_states_are_refused_or_clamped] {} hostile states, {num_refused} refused, the rest clamped; audio passed through after each",
        cases.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 4b. Out-of-range values of the right type, each in a child process
// ---------------------------------------------------------------------------------------------

/// Well-formed states whose values are of the right type but far outside their parameter's
/// range. nice-plug stores a loaded plain value as is (only the normalized value is clamped), so
/// the plugin sees these through `.value()` and its smoothers. Each runs in a child process: a
/// crash there fails this test instead of taking the whole harness down.
const OUT_OF_RANGE_SCENARIOS: [(&str, &str); 4] = [
    ("gain", r#"{ "gain": { "f32": 1e30 } }"#),
    ("mix", r#"{ "mix": { "f32": -1e30 } }"#),
    (
        "sampling",
        r#"{ "temp": { "f32": -1e30 }, "topk": { "i32": 2147483647 }, "topp": { "f32": 1e30 },
            "guide": { "f32": -1e30 }, "seed": { "i32": -5 } }"#,
    ),
    (
        "bars",
        r#"{ "ctxbars": { "i32": 2147483647 }, "lenbars": { "i32": 2147483647 } }"#,
    ),
];

/// Environment variable naming the scenario a child process runs.
const CHILD_SCENARIO_ENV: &str = "CONTINUO_TEST_CHILD_SCENARIO";

#[test]
fn out_of_range_state_values_are_survived() {
    let _ = TestEnv::get();
    let exe = std::env::current_exe().expect("test binary path");
    let mut failures = Vec::new();
    for (name, _) in OUT_OF_RANGE_SCENARIOS {
        let output = std::process::Command::new(&exe)
            .args([
                "out_of_range_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_SCENARIO_ENV, name)
            .output()
            .expect("run the child test process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stdout.contains("running 1 test"),
            "the child for {name} ran no test:\n{stdout}"
        );
        if output.status.success() {
            println!("[out_of_range_state_values_are_survived] {name}: survived, output finite and bounded");
        } else {
            let tail = |text: &str| {
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(12)..].join("\n")
            };
            failures.push(format!(
                "scenario {name:?}: child exited with {} \n--- stdout (tail)\n{}\n--- stderr (tail)\n{}",
                output.status,
                tail(&stdout),
                tail(&stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The child side of [`out_of_range_state_values_are_survived`]; run only by that test.
#[test]
#[ignore = "run by out_of_range_state_values_are_survived in a child process"]
fn out_of_range_child() {
    let Ok(scenario) = std::env::var(CHILD_SCENARIO_ENV) else {
        println!(
            "nothing to do: out_of_range_state_values_are_survived runs this in a child process"
        );
        return;
    };
    let overrides = OUT_OF_RANGE_SCENARIOS
        .iter()
        .find(|(name, _)| *name == scenario)
        .map(|(_, json)| serde_json::from_str::<Value>(json).unwrap())
        .unwrap_or_else(|| panic!("unknown scenario {scenario}"));
    let env = TestEnv::get();
    let entry = env.entry();
    let mut plugin = Plugin::new(&entry);
    let mut state = with_model_dir(&state_json(&plugin.save()), &env.model("tone"));
    for (key, value) in overrides.as_object().unwrap() {
        state["params"][key] = value.clone();
    }
    plugin
        .load(&state_bytes(&state))
        .expect("a well-formed state loads");
    let (sample_rate, max_frames) = (48_000.0, 1024);
    let processor = plugin.activate(sample_rate, max_frames);
    let generate = plugin.id("Generate");
    let (processor, ()) = plugin.run_audio(processor, |p| {
        let mut io = AudioIo::new(sample_rate, max_frames);
        let mut transport = Transport {
            playing: true,
            pos_beats: 0.0,
        };
        let mut pacer = Pacer::new(Some(SPEEDUP_OVER_REALTIME));
        // About 4 s of audio: time for the model to load, two triggers and their takes.
        for block_idx in 0..200 {
            match block_idx {
                20 | 120 => {
                    io.events
                        .push(&ParamValueEvent::new(0, generate, Pckn::match_all(), 1.0))
                }
                25 | 125 => {
                    io.events
                        .push(&ParamValueEvent::new(0, generate, Pckn::match_all(), 0.0))
                }
                _ => {}
            }
            io.fill_input(max_frames as usize);
            io.process(p, max_frames as usize, Some(&transport.event()));
            io.assert_sane_output(
                max_frames as usize,
                &format!("scenario {scenario}, block {block_idx}"),
            );
            transport.advance(max_frames as usize, sample_rate);
            pacer.advance(max_frames as usize, sample_rate);
        }
    });
    plugin.deactivate(processor);
}

// ---------------------------------------------------------------------------------------------
// 4c. A state loaded into an active instance switches the model
// ---------------------------------------------------------------------------------------------

/// CLAP lets a host load state on the main thread while the plugin is active (a preset or an undo
/// in a playing session); the host only has to keep it from overlapping `process()`. The model the
/// state names must then be the one that generates, without waiting for a re-activation. nice-plug
/// 0.4.2 does not re-run `activate()` after a state load, so the plugin has to notice the new
/// folder itself.
#[test]
fn state_load_while_active_switches_model() {
    let env = TestEnv::get();
    let entry = env.entry();
    let mut plugin = Plugin::new(&entry);
    let base = state_json(&plugin.save());
    let (generate, sync) = (plugin.id("Generate"), plugin.id("Sync"));
    let (sample_rate, max_frames) = (48_000.0, 1024u32);
    let len = max_frames as usize;

    // Active with no model (the default state names none), processing a little.
    let processor = plugin.activate(sample_rate, max_frames);
    let (mut processor, ()) = plugin.run_audio(processor, |p| {
        let mut io = AudioIo::new(sample_rate, max_frames);
        for _ in 0..8 {
            io.fill_input(len);
            io.process(p, len, None);
            assert!(io.output_is_input(len));
        }
    });
    // Processing stopped, still active: load a state naming the tone model, and ask for takes
    // that start at once.
    plugin
        .load(&state_bytes(&with_model_dir(&base, &env.model("tone"))))
        .expect("state loads while active");
    plugin.flush_active(&mut processor, &[("Sync", 0.0)]);
    let (processor, changed_at) = plugin.run_audio(processor, |p| {
        let mut io = AudioIo::new(sample_rate, max_frames);
        let mut pacer = Pacer::new(Some(4.0));
        // About 8 s of audio (2 s of wall time), with a trigger every 2 s of audio.
        for block_idx in 0..375 {
            match block_idx % 94 {
                3 => {
                    io.events
                        .push(&ParamValueEvent::new(0, sync, Pckn::match_all(), 0.0));
                    io.events
                        .push(&ParamValueEvent::new(0, generate, Pckn::match_all(), 1.0));
                }
                6 => io
                    .events
                    .push(&ParamValueEvent::new(0, generate, Pckn::match_all(), 0.0)),
                _ => {}
            }
            io.fill_input(len);
            io.process(p, len, None);
            io.assert_sane_output(len, "state load while active");
            if !io.output_is_input(len) {
                return Some(block_idx);
            }
            pacer.advance(len, sample_rate);
        }
        None
    });
    plugin.deactivate(processor);
    let block_idx = changed_at.expect(
        "a state naming the tone model was loaded while the plugin was active, yet four triggers \
         over 8 s generated nothing: the model only changes on the next activate()",
    );
    println!("[state_load_while_active_switches_model] the tone played from block {block_idx}");
}

// ---------------------------------------------------------------------------------------------
// 5. Ten thousand random blocks
// ---------------------------------------------------------------------------------------------

/// How often the long run does things, per second of audio (Poisson-like, per block). Triggers
/// come seldom enough that a take is usually ready before the next trigger replaces it.
const TRIGGERS_PER_SECOND: f64 = 0.4;
const LOOP_SWITCHES_PER_SECOND: f64 = 0.2;
const JUMPS_PER_SECOND: f64 = 0.25;
const STOPS_PER_SECOND: f64 = 0.08;

/// One activation of the long run.
struct Segment {
    sample_rate: f64,
    max_frames: u32,
    /// Test model folder loaded through the state before activation; `None` keeps the default.
    model: Option<&'static str>,
    num_blocks: usize,
    /// How often the harness triggers generation, per second of audio; with any, also once at
    /// the start of each run.
    triggers_per_second: f64,
    /// Pacing (see [`Pacer`]).
    speedup: Option<f64>,
    /// Whether mix and output gain are automated. The dry path then changes, so only the
    /// sanity checks apply, not the `out - in` analysis.
    automation: bool,
}

/// What the audio thread saw during one segment.
#[derive(Default, Debug, Clone)]
struct SegmentStats {
    num_blocks: usize,
    num_frames: u64,
    /// Blocks where the output differs from the input by more than [`CHANGED_THRESHOLD`].
    num_changed_blocks: usize,
    /// Largest |out - in| seen.
    max_wet: f32,
    /// Places where the wet signal stopped abruptly, at full level, and was silent after: the
    /// audible sign of an underrun (a take's own end and a stop both fade out instead).
    num_dropouts: usize,
    /// Frequencies of the generated audio, measured by zero crossings on steady blocks.
    wet_hz: Vec<f64>,
    num_triggers: usize,
    num_jumps: usize,
    num_notes: usize,
}

impl SegmentStats {
    fn add(&mut self, other: &SegmentStats) {
        self.num_blocks += other.num_blocks;
        self.num_frames += other.num_frames;
        self.num_changed_blocks += other.num_changed_blocks;
        self.max_wet = self.max_wet.max(other.max_wet);
        self.num_dropouts += other.num_dropouts;
        self.wet_hz.extend_from_slice(&other.wet_hz);
        self.num_triggers += other.num_triggers;
        self.num_jumps += other.num_jumps;
        self.num_notes += other.num_notes;
    }
}

/// Everything the audio thread of the long run keeps between blocks.
struct Driver {
    rng: Rng,
    transport: Transport,
    generate: ClapId,
    loop_id: ClapId,
    sync: ClapId,
    length: ClapId,
    mix: ClapId,
    gain: ClapId,
    /// Blocks until `generate` goes back to 0, while it is 1.
    generate_off_in: Option<u32>,
    loop_on: bool,
    held_notes: Vec<u8>,
    /// Wet value of the last sample of the previous block.
    last_wet: f32,
}

impl Driver {
    /// Whether an event that happens `per_second` times a second of audio happens in this block.
    fn happens(&mut self, per_second: f64, len: usize, sample_rate: f64) -> bool {
        self.rng.chance(per_second * len as f64 / sample_rate)
    }

    /// Queues this block's events: parameter changes at frame 0, notes anywhere, in time order.
    /// Each run with triggers asks for a take at once (sync "now") early on, then now and then:
    /// seldom enough that a take is usually ready before the next trigger replaces it.
    fn queue_events(
        &mut self,
        io: &mut AudioIo,
        len: usize,
        block_idx: usize,
        segment: &Segment,
        stats: &mut SegmentStats,
    ) {
        let param = |id: ClapId, value: f64| ParamValueEvent::new(0, id, Pckn::match_all(), value);
        let early = block_idx == 5;
        let sample_rate = io.sample_rate;
        let trigger = self.generate_off_in.is_none()
            && segment.triggers_per_second > 0.0
            && (early || self.happens(segment.triggers_per_second, len, sample_rate));
        match self.generate_off_in {
            Some(0) => {
                io.events.push(&param(self.generate, 0.0));
                self.generate_off_in = None;
            }
            Some(ref mut n) => *n -= 1,
            None if trigger => {
                // A new take: 1 to 4 bars, on a random grid.
                let sync = if early { 0 } else { self.rng.range(0, 2) };
                let length = if early { 3 } else { self.rng.range(0, 3) };
                io.events.push(&param(self.length, length as f64));
                io.events.push(&param(self.sync, sync as f64));
                io.events.push(&param(self.generate, 1.0));
                self.generate_off_in = Some(self.rng.range(1, 8) as u32);
                stats.num_triggers += 1;
            }
            None => {}
        }
        if self.happens(LOOP_SWITCHES_PER_SECOND, len, sample_rate) {
            self.loop_on = !self.loop_on;
            io.events
                .push(&param(self.loop_id, if self.loop_on { 1.0 } else { 0.0 }));
        }
        if segment.automation && self.rng.chance(0.05) {
            io.events.push(&param(self.mix, self.rng.unit()));
            // Output gain from -60 to +6 dB, as a normalized value of its -60..+12 dB range.
            io.events
                .push(&param(self.gain, self.rng.unit() * 66.0 / 72.0));
        }
        // Notes at increasing offsets within the block.
        let mut time = 0u32;
        while self.rng.chance(0.15) {
            time = (time + self.rng.range(0, len as u64 / 4 + 1) as u32).min(len as u32 - 1);
            if !self.held_notes.is_empty() && self.rng.chance(0.5) {
                let idx = self.rng.range(0, self.held_notes.len() as u64 - 1) as usize;
                let key = self.held_notes.swap_remove(idx);
                io.events.push(&NoteOffEvent::new(
                    time,
                    Pckn::new(0u16, 0u16, key as u16, Match::All),
                    0.0,
                ));
            } else if self.held_notes.len() < 16 {
                let key = self.rng.range(36, 96) as u8;
                let velocity = 0.2 + 0.8 * self.rng.unit();
                io.events.push(&NoteOnEvent::new(
                    time,
                    Pckn::new(0u16, 0u16, key as u16, Match::All),
                    velocity,
                ));
                self.held_notes.push(key);
            }
            stats.num_notes += 1;
        }
    }

    /// Moves the transport: mostly forward with the audio, sometimes a jump to another bar
    /// (backwards too) or a stop and restart.
    fn move_transport(&mut self, len: usize, sample_rate: f64, stats: &mut SegmentStats) {
        self.transport.advance(len, sample_rate);
        if self.happens(JUMPS_PER_SECOND, len, sample_rate) {
            let bar = self.rng.range(0, 63) as f64;
            let into_bar = if self.rng.chance(0.5) {
                0.0
            } else {
                self.rng.unit() * BEATS_PER_BAR
            };
            self.transport.pos_beats = bar * BEATS_PER_BAR + into_bar;
            stats.num_jumps += 1;
        }
        if self.happens(STOPS_PER_SECOND, len, sample_rate) {
            self.transport.playing = !self.transport.playing;
        }
    }

    /// Checks one processed block and adds it to the statistics.
    fn check_block(
        &mut self,
        io: &AudioIo,
        len: usize,
        context: &str,
        wet_analysis: bool,
        stats: &mut SegmentStats,
    ) {
        io.assert_sane_output(len, context);
        stats.num_blocks += 1;
        stats.num_frames += len as u64;
        let (in_l, out_l, out_r) = (io.input(0, len), io.out(0, len), io.out(1, len));
        let mut changed = false;
        let mut prev = self.last_wet;
        let mut silent_run = 0usize;
        let mut drop_armed = false;
        for i in 0..len {
            // Identical input channels and mono or identical-channel models: the channels match.
            assert!(
                (out_l[i] - out_r[i]).abs() <= 1e-6,
                "{context}: left {} and right {} differ at frame {i}",
                out_l[i],
                out_r[i]
            );
            if !wet_analysis {
                continue;
            }
            let wet = out_l[i] - in_l[i];
            stats.max_wet = stats.max_wet.max(wet.abs());
            changed |= wet.abs() > CHANGED_THRESHOLD;
            if wet == 0.0 {
                if prev.abs() > 0.1 {
                    drop_armed = true;
                    silent_run = 0;
                }
                silent_run += 1;
                if drop_armed && silent_run == 16 {
                    stats.num_dropouts += 1;
                    drop_armed = false;
                }
            } else {
                drop_armed = false;
            }
            prev = wet;
        }
        self.last_wet = prev;
        if changed {
            stats.num_changed_blocks += 1;
            if let Some(hz) = steady_tone_hz(in_l, out_l, io.sample_rate) {
                stats.wet_hz.push(hz);
            }
        }
    }
}

/// The frequency of `out - in` by zero crossings, when the block is long and the wet signal is at
/// full level in every quarter of it (no fade, start, end or dropout inside).
fn steady_tone_hz(input: &[f32], output: &[f32], sample_rate: f64) -> Option<f64> {
    let len = input.len();
    if len < 400 {
        return None;
    }
    let wet: Vec<f32> = output.iter().zip(input).map(|(o, i)| o - i).collect();
    let steady = wet
        .chunks(len / 4)
        .all(|q| q.iter().fold(0.0f32, |m, x| m.max(x.abs())) > 0.9 * TONE_AMPLITUDE);
    if !steady {
        return None;
    }
    let crossings: Vec<usize> = (1..len)
        .filter(|&i| (wet[i - 1] < 0.0) != (wet[i] < 0.0))
        .collect();
    if crossings.len() < 3 {
        return None;
    }
    let span = (crossings[crossings.len() - 1] - crossings[0]) as f64;
    Some((crossings.len() - 1) as f64 / 2.0 / (span / sample_rate))
}

#[test]
fn ten_thousand_random_blocks() {
    let env = TestEnv::get();
    let entry = env.entry();
    let seed = test_seed("ten_thousand_random_blocks");
    let started = Instant::now();
    let mut plugin = Plugin::new(&entry);
    let base = state_json(&plugin.save());

    // First a dry run: nothing triggered, so every block must be the input, bit for bit. Then
    // every rate with every maximum block size, switching models through the state each time:
    // tone -> tone-stereo -> bad-inputs (refused: the previous model stays) -> tone ...
    let mut segments = vec![Segment {
        sample_rate: 48_000.0,
        max_frames: 4096,
        model: None,
        num_blocks: 600,
        triggers_per_second: 0.0,
        speedup: None,
        automation: false,
    }];
    let models = ["tone", "tone-stereo", "bad-inputs"];
    let mut model_idx = 0;
    for sample_rate in [44_100.0, 48_000.0, 96_000.0] {
        // Large blocks unpaced (a take at the start, which then has to keep up with a host far
        // faster than real time), tiny ones in real time so that their takes get to play.
        for (max_frames, num_blocks, speedup, triggers_per_second) in [
            (4096u32, 800usize, None, 0.02),
            (64, 2400, Some(1.0), TRIGGERS_PER_SECOND),
            (512, 1100, Some(SPEEDUP_OVER_REALTIME), TRIGGERS_PER_SECOND),
        ] {
            segments.push(Segment {
                sample_rate,
                max_frames,
                model: Some(models[model_idx % models.len()]),
                num_blocks,
                triggers_per_second,
                speedup,
                automation: false,
            });
            model_idx += 1;
        }
    }
    // Last, mix and output gain automated while takes play.
    segments.push(Segment {
        sample_rate: 48_000.0,
        max_frames: 512,
        model: Some("tone"),
        num_blocks: 800,
        triggers_per_second: TRIGGERS_PER_SECOND,
        speedup: Some(SPEEDUP_OVER_REALTIME),
        automation: true,
    });

    let mut driver = Driver {
        rng: Rng(seed),
        transport: Transport {
            playing: true,
            pos_beats: 0.0,
        },
        generate: plugin.id("Generate"),
        loop_id: plugin.id("Loop"),
        sync: plugin.id("Sync"),
        length: plugin.id("Length"),
        mix: plugin.id("Mix"),
        gain: plugin.id("Output Gain"),
        generate_off_in: None,
        loop_on: false,
        held_notes: Vec::new(),
        last_wet: 0.0,
    };
    let mut per_rate: BTreeMap<u32, SegmentStats> = BTreeMap::new();
    let mut total = SegmentStats::default();

    for (segment_idx, segment) in segments.iter().enumerate() {
        // CLAP order: the plugin is inactive here; load the state naming the model, then activate.
        if let Some(model) = segment.model {
            let state = with_model_dir(&base, &env.model(model));
            plugin
                .load(&state_bytes(&state))
                .expect("a state naming a model folder loads");
        }
        let mut processor = plugin.activate(segment.sample_rate, segment.max_frames);
        let context = format!(
            "segment {segment_idx} ({} Hz, max {} frames, model {}, {})",
            segment.sample_rate,
            segment.max_frames,
            segment.model.unwrap_or("none"),
            segment
                .speedup
                .map_or("unpaced".to_string(), |x| format!("{x}x real time"))
        ) + if segment.automation {
            ", mix and gain automated"
        } else {
            ""
        };
        let mut stats = SegmentStats::default();
        // Two processing runs per activation: stop processing halfway, load a state with a new
        // prompt while active (allowed on the main thread while processing is stopped), change a
        // parameter with flush, and start again. Starting resets the plugin: no take plays then.
        for run_idx in 0..2 {
            let num_blocks = segment.num_blocks / 2 + run_idx * (segment.num_blocks % 2);
            let context = format!("{context}, run {run_idx}");
            let driver_ref = &mut driver;
            let (p, run_stats) = plugin.run_audio(processor, |p| {
                let mut stats = SegmentStats::default();
                let mut io = AudioIo::new(segment.sample_rate, segment.max_frames);
                let mut pacer = Pacer::new(segment.speedup);
                driver_ref.last_wet = 0.0;
                for block_idx in 0..num_blocks {
                    let len = driver_ref.rng.range(1, segment.max_frames as u64) as usize;
                    io.fill_input(len);
                    driver_ref.queue_events(&mut io, len, block_idx, segment, &mut stats);
                    let transport = driver_ref.transport.event();
                    io.process(p, len, Some(&transport));
                    driver_ref.check_block(&io, len, &context, !segment.automation, &mut stats);
                    if !segment.automation && (block_idx == 0 || segment.triggers_per_second == 0.0) {
                        assert!(
                            io.output_is_input(len),
                            "{context}: block {block_idx} ({len} frames) is not the dry input bit for bit"
                        );
                    }
                    driver_ref.move_transport(len, segment.sample_rate, &mut stats);
                    pacer.advance(len, segment.sample_rate);
                }
                stats
            });
            processor = p;
            stats.add(&run_stats);
            if run_idx == 0 {
                let prompt = format!("take {segment_idx}: dusty lo-fi keys");
                let mut state = with_field(&base, "prompt", &Value::String(prompt));
                if let Some(model) = segment.model {
                    state = with_model_dir(&state, &env.model(model));
                }
                plugin
                    .load(&state_bytes(&state))
                    .expect("state loads while active");
                plugin.flush_active(
                    &mut processor,
                    &[("Top K", driver.rng.range(0, 2048) as f64)],
                );
            }
        }
        // Leave no note hanging into the next activation.
        driver.held_notes.clear();
        driver.generate_off_in = None;
        plugin.deactivate(processor);
        println!(
            "  {context}: {} blocks, {} frames, {} triggers, {} jumps, {} notes, {} changed blocks, {} dropouts",
            stats.num_blocks,
            stats.num_frames,
            stats.num_triggers,
            stats.num_jumps,
            stats.num_notes,
            stats.num_changed_blocks,
            stats.num_dropouts
        );
        if segment_idx == 0 {
            assert_eq!(stats.num_changed_blocks, 0, "the dry run changed the audio");
        }
        total.add(&stats);
        per_rate
            .entry(segment.sample_rate as u32)
            .or_default()
            .add(&stats);
    }

    println!(
        "[ten_thousand_random_blocks] seed {seed}, {:.1} s wall",
        started.elapsed().as_secs_f64()
    );
    for (rate, stats) in &per_rate {
        println!(
            "  {rate} Hz: {} blocks, {:.1} s of audio, {} changed blocks",
            stats.num_blocks,
            stats.num_frames as f64 / *rate as f64,
            stats.num_changed_blocks
        );
    }
    println!(
        "  total: {} blocks, {} triggers, {} transport jumps, {} note events, {} changed blocks, max |out - in| {:.3}",
        total.num_blocks, total.num_triggers, total.num_jumps, total.num_notes, total.num_changed_blocks, total.max_wet
    );
    println!(
        "  {}: {} abrupt dropouts of the generated audio (streamed takes may underrun: parts of the run go as fast as the machine allows)",
        if total.num_dropouts == 0 { "underrun-free" } else { "underruns heard" },
        total.num_dropouts
    );
    if !total.wet_hz.is_empty() {
        let (lo, hi) = total
            .wet_hz
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &hz| {
                (lo.min(hz), hi.max(hz))
            });
        println!(
            "  generated tone on {} steady blocks: {lo:.1} to {hi:.1} Hz",
            total.wet_hz.len()
        );
    }
    println!(
        "  no allocation on the audio thread: the plugin aborts the process on one, and it did not"
    );

    assert_eq!(
        plugin.num_restart_requests(),
        0,
        "the plugin asked for a restart (its latency changed?)"
    );
    assert!(
        total.num_blocks >= 10_000,
        "only {} blocks processed",
        total.num_blocks
    );
    assert!(total.num_triggers > 0, "the harness never triggered");
    assert!(
        total.num_changed_blocks > 0,
        "no block ever differed from the input: the generated tone never reached the output"
    );
    // One take at a time plays at the tone's level; a crossfade of two at most doubles it.
    assert!(
        total.max_wet <= 2.0 * TONE_AMPLITUDE + 0.05,
        "generated audio peaks at {}, above two takes of the test tone",
        total.max_wet
    );
    assert!(
        total.max_wet > 0.9 * TONE_AMPLITUDE,
        "the generated audio never reached the test tone's level ({})",
        total.max_wet
    );
    for hz in &total.wet_hz {
        assert!(
            (hz - TONE_HZ).abs() < 10.0,
            "generated audio at {hz:.1} Hz, expected {TONE_HZ} Hz"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Offline rendering (the render extension): the take lands exactly on the next bar
// ---------------------------------------------------------------------------------------------

/// The plugin's fade at a take's start and end, in seconds (`continuo::audio::FADE_SECONDS`),
/// written out here so the harness checks the audio against its own expectation.
const TAKE_FADE_SECONDS: f64 = 0.03;

/// Largest difference allowed between a rendered take and the ideal faded cosine (the model runs
/// at 32 kHz and is resampled to the host rate).
const TAKE_TOLERANCE: f32 = 5e-3;

/// Frames in one bar of the harness's transport (120 BPM, 4/4: two seconds).
fn frames_per_bar(sample_rate: f64) -> usize {
    (BEATS_PER_BAR * 60.0 / TEMPO_BPM * sample_rate).round() as usize
}

/// The frame of a musical position in beats, from the start of the song.
fn frame_of_beat(beats: f64, sample_rate: f64) -> usize {
    (beats * 60.0 / TEMPO_BPM * sample_rate).round() as usize
}

/// A one-bar take of the `tone` model as the plugin should play it: the 440 Hz cosine at half
/// scale under linear fades of `floor(0.03 * rate)` frames at both ends.
fn expected_tone_take(sample_rate: f64, num_frames: usize) -> Vec<f32> {
    let fade = (sample_rate * TAKE_FADE_SECONDS) as usize;
    (0..num_frames)
        .map(|n| {
            let gain = 1.0f64
                .min((n + 1) as f64 / fade as f64)
                .min((num_frames - n) as f64 / fade as f64);
            let phase = std::f64::consts::TAU * TONE_HZ * n as f64 / sample_rate;
            (TONE_AMPLITUDE as f64 * phase.cos() * gain) as f32
        })
        .collect()
}

/// Renders `num_bars` bars of silence through `plugin`, activated at `sample_rate` with blocks of
/// exactly `block` frames, under a playing 120 BPM 4/4 transport from beat 0. Generate goes to 1
/// at beat 1.5 (in bar 1) and back to 0 at beat 2.5. The transport of every block is computed
/// from its first frame, so the host adds no drift of its own. Returns both output channels.
fn render_silence_with_trigger(
    plugin: &mut Plugin,
    sample_rate: f64,
    block: usize,
    num_bars: usize,
    speedup: Option<f64>,
    context: &str,
) -> [Vec<f32>; 2] {
    render_with_triggers(
        plugin,
        sample_rate,
        block,
        num_bars,
        speedup,
        context,
        &[(1.5, 2.5)],
        |_| 0.0,
    )
}

/// As [`render_silence_with_trigger`], with Generate pressed at each `(on_beats, off_beats)` and
/// `input(frame)` on both input channels.
#[allow(clippy::too_many_arguments)]
fn render_with_triggers(
    plugin: &mut Plugin,
    sample_rate: f64,
    block: usize,
    num_bars: usize,
    speedup: Option<f64>,
    context: &str,
    triggers: &[(f64, f64)],
    input: impl Fn(usize) -> f32 + Send + Sync,
) -> [Vec<f32>; 2] {
    let generate = plugin.id("Generate");
    let total = num_bars * frames_per_bar(sample_rate);
    let edges: Vec<(usize, f64)> = triggers
        .iter()
        .flat_map(|&(on, off)| {
            [
                (frame_of_beat(on, sample_rate), 1.0),
                (frame_of_beat(off, sample_rate), 0.0),
            ]
        })
        .collect();
    let processor = plugin.activate(sample_rate, block as u32);
    let (processor, out) = plugin.run_audio(processor, |p| {
        let mut io = AudioIo::new(sample_rate, block as u32);
        let mut out = [Vec::with_capacity(total), Vec::with_capacity(total)];
        let mut pacer = Pacer::new(speedup);
        let mut done = 0usize;
        while done < total {
            let len = block.min(total - done);
            for &(at, value) in &edges {
                if (done..done + len).contains(&at) {
                    io.events.push(&ParamValueEvent::new(
                        (at - done) as u32,
                        generate,
                        Pckn::match_all(),
                        value,
                    ));
                }
            }
            for channel in &mut io.inputs {
                for (i, sample) in channel[..len].iter_mut().enumerate() {
                    *sample = input(done + i);
                }
            }
            let transport = Transport {
                playing: true,
                pos_beats: done as f64 / sample_rate * TEMPO_BPM / 60.0,
            };
            io.process(p, len, Some(&transport.event()));
            io.assert_sane_output(len, context);
            for (c, channel) in out.iter_mut().enumerate() {
                channel.extend_from_slice(io.out(c, len));
            }
            done += len;
            pacer.advance(len, sample_rate);
        }
        out
    });
    plugin.deactivate(processor);
    out
}

/// What one render shows about the take.
struct TakeReport {
    /// First non-zero output frame.
    first_sound: Option<usize>,
    /// Largest |out - expected| over the bar from `start`, and the take frame where it is.
    worst: (f32, usize),
    /// Frames inside the take that are exactly zero (an underrun's gap, in real time).
    num_silent_in_take: usize,
    /// The longest run of exact zeros inside the take: (take frame, length).
    longest_gap: (usize, usize),
    /// First non-zero frame after the take's bar.
    sound_after: Option<usize>,
}

fn report_take(out: &[Vec<f32>; 2], sample_rate: f64, start: usize) -> TakeReport {
    let bar = frames_per_bar(sample_rate);
    let left = &out[0];
    let expected = expected_tone_take(sample_rate, bar);
    let take = &left[start.min(left.len())..(start + bar).min(left.len())];
    let worst = take
        .iter()
        .zip(&expected)
        .enumerate()
        .filter(|(_, (&got, _))| got != 0.0)
        .map(|(n, (got, want))| ((got - want).abs(), n))
        .fold((0.0f32, 0usize), |a, b| if b.0 > a.0 { b } else { a });
    let mut longest_gap = (0, 0);
    let mut run_start = None;
    for (n, &s) in take.iter().chain(std::iter::once(&1.0)).enumerate() {
        match (s == 0.0, run_start) {
            (true, None) => run_start = Some(n),
            (false, Some(from)) => {
                if n - from > longest_gap.1 {
                    longest_gap = (from, n - from);
                }
                run_start = None;
            }
            _ => {}
        }
    }
    TakeReport {
        longest_gap,
        first_sound: left.iter().position(|&s| s != 0.0),
        worst,
        num_silent_in_take: take.iter().filter(|&&s| s == 0.0).count() + (bar - take.len()),
        sound_after: left
            .iter()
            .skip(start + bar)
            .position(|&s| s != 0.0)
            .map(|i| i + start + bar),
    }
}

/// Through CLAP's render extension the plugin is put in offline mode (it takes effect at the next
/// activate, where nice-plug hands the mode to the plugin), then one bar of the `tone` model is
/// generated from a trigger in the middle of bar 1 with Sync "Next bar". Offline, the audio
/// thread waits for the worker, so the take must start exactly on the first frame of bar 2 and
/// hold the model's faded cosine for exactly one bar, with pure silence everywhere else; at two
/// rates, with a power-of-two block size and an odd one. The same renders in real-time mode may
/// start a later bar (the take streams while the host runs ahead), but always on a bar line.
#[test]
fn offline_render_places_the_take_on_the_next_bar() {
    let env = TestEnv::get();
    let entry = env.entry();
    let started = Instant::now();
    let mut plugin = Plugin::new(&entry);
    let render: PluginRender = plugin
        .instance
        .plugin_shared_handle()
        .get_extension()
        .expect("the plugin offers the render extension");

    let state = with_model_dir(&state_json(&plugin.save()), &env.model("tone"));
    plugin
        .load(&state_bytes(&state))
        .expect("a state naming the tone model loads");
    // Length is exposed as its step index: 0 is 1 bar. Sync's default, step 2, is "Next bar".
    plugin.flush(&[("Length", 0.0)]);
    assert_eq!(plugin.value("Length"), 0.0, "Length is 1 bar");
    assert_eq!(plugin.value("Sync"), 2.0, "Sync defaults to Next bar");
    assert!(
        !render.has_realtime_requirement(&plugin.instance.plugin_handle()),
        "the plugin claims a hard real-time requirement"
    );

    let cases = [
        (48_000.0, 512usize),
        (48_000.0, 333),
        (44_100.0, 512),
        (44_100.0, 333),
    ];
    let mut failures = Vec::new();

    // Offline: set while inactive; nice-plug passes it to the plugin at the next activate.
    render
        .set(&plugin.instance.plugin_handle(), RenderMode::Offline)
        .expect("render.set(offline) is accepted");
    for (sample_rate, block) in cases {
        let context = format!("offline, {sample_rate} Hz, blocks of {block}");
        let case_started = Instant::now();
        let out = render_silence_with_trigger(&mut plugin, sample_rate, block, 4, None, &context);
        let bar = frames_per_bar(sample_rate);
        let report = report_take(&out, sample_rate, bar);
        println!(
            "  {context}: first sound at frame {:?} (bar 2 starts at {bar}), frame {bar} = {:.6}, \
             worst |take - tone| {:.2e} at take frame {}, {} silent frames in the take, \
             sound after the take: {:?}, {:.2} s",
            report.first_sound,
            out[0][bar],
            report.worst.0,
            report.worst.1,
            report.num_silent_in_take,
            report.sound_after,
            case_started.elapsed().as_secs_f64()
        );
        let mut problems = Vec::new();
        if out[0]
            .iter()
            .zip(&out[1])
            .any(|(l, r)| l.to_bits() != r.to_bits())
        {
            problems.push("left and right differ (mono model)".to_string());
        }
        match report.first_sound {
            Some(first) if first == bar => {}
            Some(first) => problems.push(format!(
                "the take starts at frame {first}, {:+} frames from the bar line {bar} (frame {first} = {})",
                first as i64 - bar as i64,
                out[0][first]
            )),
            None => problems.push("no take at all: the output is silent".to_string()),
        }
        if out[0][bar].is_nan() || out[0][bar] <= 0.0 {
            problems.push(format!(
                "frame {bar} (the bar line) is {}, not > 0",
                out[0][bar]
            ));
        }
        if report.worst.0 >= TAKE_TOLERANCE {
            let n = report.worst.1;
            problems.push(format!(
                "bar 2 differs from the faded tone by {} at take frame {n} (got {}, expected {})",
                report.worst.0,
                out[0][bar + n],
                expected_tone_take(sample_rate, bar)[n]
            ));
        }
        if report.num_silent_in_take > 0 {
            problems.push(format!(
                "{} frames of bar 2 are exactly 0 (a gap in the take)",
                report.num_silent_in_take
            ));
        }
        if let Some(after) = report.sound_after {
            problems.push(format!(
                "sound after the take: frame {after} = {} (bar {})",
                out[0][after],
                after / bar + 1
            ));
        }
        if !problems.is_empty() {
            failures.push(format!("{context}: {}", problems.join("; ")));
        }
    }

    // Real time: the take may start a later bar, but only ever on a bar line, and then carries
    // the tone on the grid (a gap from an underrun is allowed, a shifted sample is not).
    render
        .set(&plugin.instance.plugin_handle(), RenderMode::Realtime)
        .expect("render.set(realtime) is accepted");
    for (sample_rate, block) in cases {
        let context = format!("real time, {sample_rate} Hz, blocks of {block}");
        let case_started = Instant::now();
        let out = render_silence_with_trigger(
            &mut plugin,
            sample_rate,
            block,
            6,
            Some(SPEEDUP_OVER_REALTIME),
            &context,
        );
        let bar = frames_per_bar(sample_rate);
        let Some(first) = out[0].iter().position(|&s| s != 0.0) else {
            failures.push(format!("{context}: no take within 6 bars"));
            continue;
        };
        let start = first / bar * bar;
        let report = report_take(&out, sample_rate, start);
        println!(
            "  {context}: first sound at frame {first} (bar {}, {} frames past its line), \
             worst |take - tone| {:.2e}, {} silent frames in the take (longest gap {} frames \
             from take frame {}), sound after: {:?}, {:.2} s",
            first / bar + 1,
            first - start,
            report.worst.0,
            report.num_silent_in_take,
            report.longest_gap.1,
            report.longest_gap.0,
            report.sound_after,
            case_started.elapsed().as_secs_f64()
        );
        let mut problems = Vec::new();
        if start < bar {
            problems.push(format!("sound in bar 1, at frame {first}"));
        }
        if first % bar != 0 {
            problems.push(format!(
                "the take's first sound is at frame {first}, {} frames past the bar line {start}",
                first - start
            ));
        }
        if report.worst.0 >= TAKE_TOLERANCE {
            problems.push(format!(
                "the take differs from the faded tone on the grid by {} at take frame {}",
                report.worst.0, report.worst.1
            ));
        }
        if let Some(after) = report.sound_after {
            problems.push(format!("sound after the take's bar: frame {after}"));
        }
        if !problems.is_empty() {
            failures.push(format!("{context}: {}", problems.join("; ")));
        }
    }

    assert_eq!(
        plugin.num_restart_requests(),
        0,
        "switching the render mode while inactive asked for a restart"
    );
    println!(
        "[offline_render_places_the_take_on_the_next_bar] {} renders, {:.1} s wall",
        2 * cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A new instance with the `tone` model loaded through its state, and its render extension.
fn tone_plugin(env: &TestEnv, entry: &PluginEntry) -> (Plugin, PluginRender) {
    let mut plugin = Plugin::new(entry);
    let render: PluginRender = plugin
        .instance
        .plugin_shared_handle()
        .get_extension()
        .expect("the plugin offers the render extension");
    let state = with_model_dir(&state_json(&plugin.save()), &env.model("tone"));
    plugin
        .load(&state_bytes(&state))
        .expect("the tone model loads");
    (plugin, render)
}

/// Two takes scheduled back to back: Generate in bar 2 gives a one-bar take on bar 3, Generate
/// again in bar 3 (while the first plays) gives the next on bar 4. Offline, each must start on its
/// bar line's first frame and the two must join with no gap and no overlap: bar 3 and bar 4 each
/// hold exactly one faded tone, no frame in between is silent, nothing sounds after bar 4. At 44.1
/// and 48 kHz with odd block sizes; the test bundle aborts on any allocation in process().
#[test]
fn two_takes_play_back_to_back_on_bars_3_and_4() {
    let env = TestEnv::get();
    let entry = env.entry();
    let (mut plugin, render) = tone_plugin(&env, &entry);
    plugin.flush(&[("Length", 0.0)]);
    render
        .set(&plugin.instance.plugin_handle(), RenderMode::Offline)
        .expect("render.set(offline) is accepted");
    let mut failures = Vec::new();
    for (sample_rate, block) in [
        (48_000.0, 333usize),
        (44_100.0, 333),
        (44_100.0, 1021),
        (48_000.0, 97),
    ] {
        let context = format!("{sample_rate} Hz, blocks of {block}");
        let out = render_with_triggers(
            &mut plugin,
            sample_rate,
            block,
            6,
            None,
            &context,
            &[(5.5, 6.5), (9.5, 10.5)],
            |_| 0.0,
        );
        let bar = frames_per_bar(sample_rate);
        let first = report_take(&out, sample_rate, 2 * bar);
        let second = report_take(&out, sample_rate, 3 * bar);
        let mut problems = Vec::new();
        if first.first_sound != Some(2 * bar) {
            problems.push(format!(
                "first sound at {:?}, bar 3 starts at {}",
                first.first_sound,
                2 * bar
            ));
        }
        for (name, report) in [("bar 3", &first), ("bar 4", &second)] {
            if report.worst.0 >= TAKE_TOLERANCE {
                problems.push(format!(
                    "{name} differs from one faded tone by {} at take frame {} (an overlap or a shift)",
                    report.worst.0, report.worst.1
                ));
            }
            if report.num_silent_in_take > 0 {
                problems.push(format!(
                    "{name} has {} silent frames (longest gap {} frames from take frame {})",
                    report.num_silent_in_take, report.longest_gap.1, report.longest_gap.0
                ));
            }
        }
        if let Some(after) = second.sound_after {
            problems.push(format!("sound after bar 4: frame {after}"));
        }
        if out[0][3 * bar] <= 0.0 || out[0][3 * bar - 1] <= 0.0 {
            problems.push(format!(
                "the join is not sample-exact: frames {} and {} are {} and {}",
                3 * bar - 1,
                3 * bar,
                out[0][3 * bar - 1],
                out[0][3 * bar]
            ));
        }
        println!(
            "  {context}: first sound {:?}, worst {:.1e} / {:.1e}, frames around the join {} | {}",
            first.first_sound,
            first.worst.0,
            second.worst.0,
            out[0][3 * bar - 1],
            out[0][3 * bar]
        );
        if !problems.is_empty() {
            failures.push(format!("{context}: {}", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// NaN and infinity in the track's input while the context is captured, live and offline: with
/// the dry path muted (Mix 100%) every output sample stays finite (the harness checks each
/// block), the render does not hang, and the take still plays on bar 3.
#[test]
fn nan_in_the_context_keeps_the_output_finite_and_the_take_plays() {
    let env = TestEnv::get();
    let entry = env.entry();
    let (mut plugin, render) = tone_plugin(&env, &entry);
    plugin.flush(&[("Length", 0.0), ("Mix", 1.0)]);
    let poisoned = |frame: usize| match frame % 997 {
        0 => f32::NAN,
        1 => f32::INFINITY,
        2 => f32::NEG_INFINITY,
        n => 0.1 * (n as f32 * 0.01).sin(),
    };
    for (mode, speedup, bars) in [
        (RenderMode::Offline, None, 4usize),
        (RenderMode::Realtime, Some(SPEEDUP_OVER_REALTIME), 8),
    ] {
        render
            .set(&plugin.instance.plugin_handle(), mode)
            .expect("render.set is accepted");
        let context = format!("{mode:?}");
        let started = Instant::now();
        let out = render_with_triggers(
            &mut plugin,
            48_000.0,
            512,
            bars,
            speedup,
            &context,
            &[(5.5, 6.5)],
            poisoned,
        );
        let bar = frames_per_bar(48_000.0);
        let take = out[0][2 * bar..].iter().position(|&s| s.abs() > 0.1);
        assert!(
            take.is_some_and(
                |at| (2 * bar + at) % bar < 2 * (48_000.0 * TAKE_FADE_SECONDS) as usize
            ),
            "{context}: no take on a bar line after bar 2 (first loud frame {take:?})"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{context}: the render took {:?}",
            started.elapsed()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 7. The notes model: MIDI in, audio and MIDI out
// ---------------------------------------------------------------------------------------------

/// The shipped notes model's folder (or `CONTINUO_TEST_NOTES_MODEL`).
fn notes_model_dir() -> String {
    std::env::var("CONTINUO_TEST_NOTES_MODEL")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../models/notes").to_string())
}

/// The demo riff's notes as (start frame, end frame, key, velocity 0-1) at 120 BPM.
fn demo_riff_frames(sample_rate: f64) -> Vec<(usize, usize, u16, f64)> {
    let riff = continuo::midi_file::read_notes(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/demo-riff.mid"
    )))
    .expect("the demo riff reads");
    riff.iter()
        .map(|n| {
            (
                frame_of_beat(n.start_beats, sample_rate),
                frame_of_beat(n.start_beats + n.duration_beats, sample_rate),
                n.pitch as u16,
                n.velocity as f64 / 127.0,
            )
        })
        .collect()
}

/// Fed the demo riff as CLAP note events for two bars, with the notes model loaded and a
/// trigger at the end of bar 2, an offline render plays a continuation from bar 3 and sends its
/// notes to the host as note events, each on with its off, inside the take's bars.
#[test]
fn notes_model_takes_midi_in_and_sends_its_take_as_midi() {
    let env = TestEnv::get();
    let entry = env.entry();
    let mut plugin = Plugin::new(&entry);
    let render: PluginRender = plugin
        .instance
        .plugin_shared_handle()
        .get_extension()
        .expect("the plugin offers the render extension");
    let state = with_model_dir(&state_json(&plugin.save()), &notes_model_dir());
    plugin
        .load(&state_bytes(&state))
        .expect("a state naming the notes model loads");
    // Length 2 bars (step 1), context 2 bars, a fixed seed.
    plugin.flush(&[("Length", 1.0), ("Context", 2.0), ("Seed", 5.0)]);
    render
        .set(&plugin.instance.plugin_handle(), RenderMode::Offline)
        .expect("render.set(offline) is accepted");

    let sample_rate = 48_000.0;
    let block = 512usize;
    let bar = frames_per_bar(sample_rate);
    let total = 4 * bar;
    let riff = demo_riff_frames(sample_rate);
    let trigger_on = 2 * bar - block / 2;
    let generate = plugin.id("Generate");
    let processor = plugin.activate(sample_rate, block as u32);
    let (processor, (out, sent)) = plugin.run_audio(processor, |p| {
        let mut io = AudioIo::new(sample_rate, block as u32);
        let mut out = [Vec::with_capacity(total), Vec::with_capacity(total)];
        let mut sent: Vec<(usize, u16, bool)> = Vec::new();
        let mut done = 0usize;
        while done < total {
            let len = block.min(total - done);
            let in_block = |frame: usize| (done..done + len).contains(&frame);
            // Note events in time order: offs before ons at the same frame.
            let mut events: Vec<(usize, bool, u16, f64)> = Vec::new();
            for &(start, end, key, velocity) in &riff {
                if in_block(end.min(2 * bar - 1)) {
                    events.push((end.min(2 * bar - 1), false, key, 0.0));
                }
                if in_block(start) {
                    events.push((start, true, key, velocity));
                }
            }
            events.sort_by_key(|e| (e.0, e.1));
            for (frame, is_on, key, velocity) in events {
                let pckn = Pckn::new(0u16, 0u16, key, Match::All);
                let time = (frame - done) as u32;
                if is_on {
                    io.events.push(&NoteOnEvent::new(time, pckn, velocity));
                } else {
                    io.events.push(&NoteOffEvent::new(time, pckn, 0.0));
                }
            }
            if in_block(trigger_on) {
                io.events.push(&ParamValueEvent::new(
                    (trigger_on - done) as u32,
                    generate,
                    Pckn::match_all(),
                    1.0,
                ));
            }
            for input in &mut io.inputs {
                input[..len].fill(0.0);
            }
            let transport = Transport {
                playing: true,
                pos_beats: done as f64 / sample_rate * TEMPO_BPM / 60.0,
            };
            io.process(p, len, Some(&transport.event()));
            io.assert_sane_output(len, "notes model");
            for event in io.out_events.iter() {
                if let Some(on) = event.as_event::<NoteOnEvent>() {
                    if let Match::Specific(key) = on.pckn().key {
                        sent.push((done + on.header().time() as usize, key, true));
                    }
                } else if let Some(off) = event.as_event::<NoteOffEvent>() {
                    if let Match::Specific(key) = off.pckn().key {
                        sent.push((done + off.header().time() as usize, key, false));
                    }
                }
            }
            for (c, channel) in out.iter_mut().enumerate() {
                channel.extend_from_slice(io.out(c, len));
            }
            done += len;
        }
        (out, sent)
    });
    plugin.deactivate(processor);

    let ons: Vec<_> = sent.iter().filter(|e| e.2).collect();
    let offs = sent.iter().filter(|e| !e.2).count();
    println!(
        "  notes model: {} notes sent as MIDI, first at frame {:?}",
        ons.len(),
        ons.first().map(|e| e.0)
    );
    assert!(!ons.is_empty(), "the take sent no note events");
    assert_eq!(ons.len(), offs, "every note-on has its note-off");
    assert!(
        sent.iter().all(|e| e.0 >= 2 * bar && e.0 < total),
        "note events outside the take's bars: {sent:?}"
    );
    assert!(
        out[0][..2 * bar].iter().all(|&s| s == 0.0),
        "sound before the take (the riff is MIDI only)"
    );
    let energy: f32 = out[0][2 * bar..].iter().map(|s| s * s).sum();
    assert!(energy > 1.0, "the take is silent");
}

/// The tiny random MusicGen that `export.py --tiny-random` wrote (tests/fixtures/musicgen).
fn musicgen_model_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/musicgen/mono/model").to_string()
}

#[test]
fn musicgen_model_continues_the_tracks_audio_on_the_next_bar() {
    let env = TestEnv::get();
    let entry = env.entry();
    let mut plugin = Plugin::new(&entry);
    let render: PluginRender = plugin
        .instance
        .plugin_shared_handle()
        .get_extension()
        .expect("the plugin offers the render extension");
    let state = with_model_dir(&state_json(&plugin.save()), &musicgen_model_dir());
    plugin
        .load(&state_bytes(&state))
        .expect("a state naming the MusicGen folder loads");
    // Length 1 bar (step 0), context 2 bars, mix 100% (the take only, so the dry input is not
    // in the output), a prompt through the state.
    plugin.flush(&[
        ("Length", 0.0),
        ("Context", 2.0),
        ("Mix", 1.0),
        ("Seed", 3.0),
    ]);
    render
        .set(&plugin.instance.plugin_handle(), RenderMode::Offline)
        .expect("render.set(offline) is accepted");

    let sample_rate = 48_000.0;
    let block = 512usize;
    let bar = frames_per_bar(sample_rate);
    let total = 4 * bar;
    let trigger_on = 2 * bar - block / 2;
    let generate = plugin.id("Generate");
    let processor = plugin.activate(sample_rate, block as u32);
    let (processor, out) = plugin.run_audio(processor, |p| {
        let mut io = AudioIo::new(sample_rate, block as u32);
        let mut out = [Vec::with_capacity(total), Vec::with_capacity(total)];
        let mut done = 0usize;
        while done < total {
            let len = block.min(total - done);
            if (done..done + len).contains(&trigger_on) {
                io.events.push(&ParamValueEvent::new(
                    (trigger_on - done) as u32,
                    generate,
                    Pckn::match_all(),
                    1.0,
                ));
            }
            // Two bars of a 220 Hz tone as the track's audio: the audio prompt.
            for input in &mut io.inputs {
                for (i, s) in input[..len].iter_mut().enumerate() {
                    let t = (done + i) as f64 / sample_rate;
                    *s = if done + i < 2 * bar {
                        (0.3 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()) as f32
                    } else {
                        0.0
                    };
                }
            }
            let transport = Transport {
                playing: true,
                pos_beats: done as f64 / sample_rate * TEMPO_BPM / 60.0,
            };
            io.process(p, len, Some(&transport.event()));
            io.assert_sane_output(len, "musicgen model");
            for (c, channel) in out.iter_mut().enumerate() {
                channel.extend_from_slice(io.out(c, len));
            }
            done += len;
        }
        out
    });
    plugin.deactivate(processor);

    let first_sound = out[0].iter().position(|s| s.abs() > 1e-6);
    let take_energy: f32 = out[0][2 * bar..3 * bar].iter().map(|s| s * s).sum();
    println!("  musicgen model: first sound at frame {first_sound:?} (bar 3 starts at {}), take energy {take_energy:.3}", 2 * bar);
    assert!(
        out[0][..2 * bar].iter().all(|&s| s == 0.0),
        "sound before the take (mix is 100%)"
    );
    let first = first_sound.expect("no take at all: the output is silent");
    assert!(
        first >= 2 * bar && first < 2 * bar + 48,
        "the take starts at frame {first}, not on bar 3 ({})",
        2 * bar
    );
    assert!(
        take_energy > 1e-3,
        "the take is (nearly) silent: energy {take_energy}"
    );
    assert!(
        out[0][3 * bar..].iter().all(|&s| s == 0.0),
        "sound after the one-bar take"
    );
    assert!(
        out[0].iter().zip(&out[1]).all(|(l, r)| l == r),
        "a mono model plays the same on both sides"
    );
}

/// The saved-state loader as a fuzz target: `CONTINUO_FUZZ_CASES` (10,000 by default) saved
/// states, each the plugin's own with its JSON mutated (bytes flipped, set, inserted, deleted,
/// cut) and framed with a true or a false length, loaded into one instance. Each is refused or
/// taken; every parameter stays finite and in range; every thousandth case the instance is
/// activated and processes blocks whose output must be finite and bounded, and it still saves
/// a state that loads.
#[test]
fn mutated_saved_states_never_crash() {
    let env = TestEnv::get();
    let entry = env.entry();
    let mut rng = Rng(test_seed("mutated_saved_states_never_crash"));
    let cases: u64 = std::env::var("CONTINUO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut plugin = Plugin::new(&entry);
    let base = plugin.save();
    let body = base[8..].to_vec();
    let started = std::time::Instant::now();
    let mut num_refused = 0u64;
    for case in 0..cases {
        let mut json = body.clone();
        for _ in 0..rng.range(1, 8) {
            let at = rng.range(0, json.len().max(1) as u64 - 1) as usize;
            match rng.range(0, 5) {
                0 if !json.is_empty() => json[at] ^= 1 << rng.range(0, 7),
                1 if !json.is_empty() => {
                    json[at] = b"{}[]\":,0123456789-.eE \\tnul"[rng.range(0, 26) as usize]
                }
                2 => {
                    let at = at.min(json.len());
                    let n = rng.range(1, 12) as usize;
                    let run = rng.bytes(n);
                    json.splice(at..at, run);
                }
                3 if !json.is_empty() => {
                    let end = (at + rng.range(1, 24) as usize).min(json.len());
                    json.drain(at..end);
                }
                4 => json.truncate(at),
                _ => {}
            }
        }
        let bytes = if rng.chance(0.9) {
            framed(json)
        } else {
            let mut lying = rng.next_u64().to_le_bytes().to_vec();
            lying.extend_from_slice(&json);
            lying
        };
        if plugin.load(&bytes).is_err() {
            num_refused += 1;
        }
        assert_params_in_range(&mut plugin, &format!("case {case}"));
        if case % 1000 == 999 {
            let processor = plugin.activate(48_000.0, 512);
            let (processor, ()) = plugin.run_audio(processor, |p| {
                let mut io = AudioIo::new(48_000.0, 512);
                for _ in 0..8 {
                    io.fill_input(512);
                    io.process(p, 512, None);
                    io.assert_sane_output(512, &format!("case {case}"));
                }
            });
            plugin.deactivate(processor);
            let saved = plugin.save();
            plugin
                .load(&saved)
                .unwrap_or_else(|e| panic!("case {case}: its own saved state is refused: {e:?}"));
        }
    }
    println!(
        "[fuzz saved-state] {cases} cases, {num_refused} refused, 0 crashes, {:.0} execs/s",
        cases as f64 / started.elapsed().as_secs_f64().max(1e-9)
    );
}

/// Host seconds of the soak in `cargo xtask test`; `CONTINUO_SOAK_SECONDS=3600` for the hour.
const SOAK_SECONDS_DEFAULT: f64 = 300.0;

/// Host seconds before memory is measured the first time: models loaded, rings and history at
/// their size, the allocator's arenas settled.
const SOAK_WARM_UP_SECONDS: f64 = 60.0;

/// The process's resident memory, in kB.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .expect("VmRSS in /proc/self/status")
}

/// A long run of back-to-back takes: Generate pressed in every bar gives a one-bar take on every
/// following bar, so a new segment joins the last on every bar line, for 5 minutes of host time
/// (an hour with `CONTINUO_SOAK_SECONDS=3600`). Offline and unpaced by default, so it runs as
/// fast as the worker allows and cannot be upset by a busy machine; with
/// `CONTINUO_SOAK_SPEEDUP=N` in real-time mode, paced at N times real time (the debug test
/// bundle makes a one-bar tone take in about 0.5 s, so N up to 2 keeps the model faster than
/// the host). Every bar from the first take on must be a whole take (no silent frame between its
/// fades: no underrun), the test bundle aborts on any allocation in process() (the allocation
/// guard), and the process's resident memory after the warm-up may grow by less than 5 MB.
/// (Jam mode, issue 13, will chain segments itself; this drives the same path with triggers.)
#[test]
fn soak_back_to_back_takes_keep_memory_flat_and_never_run_dry() {
    let env = TestEnv::get();
    let entry = env.entry();
    let (mut plugin, render) = tone_plugin(&env, &entry);
    plugin.flush(&[("Length", 0.0)]);
    let speedup: Option<f64> = std::env::var("CONTINUO_SOAK_SPEEDUP")
        .ok()
        .and_then(|s| s.parse().ok());
    let mode = match speedup {
        Some(_) => RenderMode::Realtime,
        None => RenderMode::Offline,
    };
    render
        .set(&plugin.instance.plugin_handle(), mode)
        .expect("render.set is accepted");
    let seconds: f64 = std::env::var("CONTINUO_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SOAK_SECONDS_DEFAULT);
    let (sample_rate, block) = (48_000.0, 512usize);
    let bar = frames_per_bar(sample_rate);
    let num_bars = (seconds * sample_rate / bar as f64) as usize;
    let total = num_bars * bar;
    let fade = (0.03 * sample_rate) as usize + 1;
    let warm_up_frames = (SOAK_WARM_UP_SECONDS * sample_rate) as usize;
    let generate = plugin.id("Generate");
    let started = Instant::now();
    let processor = plugin.activate(sample_rate, block as u32);
    let (processor, report) = plugin.run_audio(processor, |p| {
        let mut io = AudioIo::new(sample_rate, block as u32);
        let mut pacer = Pacer::new(speedup);
        // Per bar: frames between the fades that are exactly zero, and whether it sounded.
        let mut silent_in_bar = vec![0usize; num_bars];
        let mut sounded = vec![false; num_bars];
        let mut rss_after_warm_up = None;
        let mut done = 0usize;
        while done < total {
            let len = block.min(total - done);
            // Generate on at beat 0.5 of every bar, off at beat 0.75.
            let bar_idx = done / bar;
            for (beats, value) in [(0.5, 1.0), (0.75, 0.0)] {
                for b in [bar_idx, bar_idx + 1] {
                    let at = b * bar + frame_of_beat(beats, sample_rate);
                    if (done..done + len).contains(&at) {
                        io.events.push(&ParamValueEvent::new(
                            (at - done) as u32,
                            generate,
                            Pckn::match_all(),
                            value,
                        ));
                    }
                }
            }
            let transport = Transport {
                playing: true,
                pos_beats: done as f64 / sample_rate * TEMPO_BPM / 60.0,
            };
            io.process(p, len, Some(&transport.event()));
            io.assert_sane_output(len, "soak");
            for (i, &s) in io.out(0, len).iter().enumerate() {
                let frame = done + i;
                let (b, in_bar) = (frame / bar, frame % bar);
                if s != 0.0 {
                    sounded[b] = true;
                } else if in_bar >= fade && in_bar < bar - fade {
                    silent_in_bar[b] += 1;
                }
            }
            done += len;
            if rss_after_warm_up.is_none() && done >= warm_up_frames {
                rss_after_warm_up = Some(rss_kb());
            }
            pacer.advance(len, sample_rate);
        }
        (silent_in_bar, sounded, rss_after_warm_up, rss_kb())
    });
    plugin.deactivate(processor);
    let (silent_in_bar, sounded, rss_after_warm_up, rss_end) = report;
    let rss_after_warm_up = rss_after_warm_up.expect("the soak is longer than its warm-up");
    let growth_kb = rss_end as i64 - rss_after_warm_up as i64;
    // The model loads while the host already runs (20x faster): the first take may come a few
    // bars late; from the first one on, every bar must be whole.
    let first = sounded
        .iter()
        .position(|&s| s)
        .expect("no take ever played");
    assert!(
        first <= 5,
        "the first take played only in bar {}",
        first + 1
    );
    let dry: Vec<(usize, usize)> = silent_in_bar
        .iter()
        .enumerate()
        .skip(first)
        .filter(|&(b, &n)| n > 0 || !sounded[b])
        .map(|(b, &n)| (b + 1, n))
        .collect();
    println!(
        "[soak] {seconds:.0} s of host time ({}) in {:.1} s wall: {} bars, {} takes \
         expected, bars not whole: {}, resident memory {:.1} MB after {SOAK_WARM_UP_SECONDS:.0} s, \
         {:.1} MB at the end ({:+.2} MB)",
        speedup.map_or("offline".to_string(), |x| format!(
            "real time, paced at {x}x"
        )),
        started.elapsed().as_secs_f64(),
        num_bars,
        num_bars - 1,
        dry.len(),
        rss_after_warm_up as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        growth_kb as f64 / 1024.0
    );
    assert!(
        dry.is_empty(),
        "bars (1-based) that were not a whole take (bar, silent frames): {:?}",
        &dry[..dry.len().min(20)]
    );
    assert!(
        growth_kb < 5 * 1024,
        "resident memory grew by {growth_kb} kB after the warm-up"
    );
}
