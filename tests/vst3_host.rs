//! A VST3 host harness around the real plugin binary.
//!
//! DawDreamer, the Python host of tests/host, records only the MIDI it sends a plugin, never what
//! the plugin sends back, so the VST3 build's MIDI output is proved here instead: this file
//! `dlopen`s the `continuo.so` inside the bundle named by `CONTINUO_TEST_VST3` and drives it the way
//! a DAW does through the raw VST3 interfaces of the `vst3` crate: module entry, factory, component,
//! state, processing setup, bus activation, and process calls with a playing transport, note
//! events in, parameter changes in, and an event list that collects the note events sent back.
//!
//! The binary is built with nice-plug's `assert_process_allocs`, so any allocation on the audio
//! thread inside `process()` aborts the test process. The host's own COM objects below are called
//! from inside `process()`; they allocate nothing there either (their storage is reserved up
//! front), so the only allocations the guard could catch are the plugin's.
//!
//! Every call runs on the test's thread, which plays both the host's main and audio threads, one
//! after the other, as VST3 allows.
//!
//! Needs `CONTINUO_TEST_VST3`; `cargo xtask test` sets it.

use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::ffi::{c_void, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use vst3::Steinberg::IBStream_::IStreamSeekMode_::{kIBSeekCur, kIBSeekEnd, kIBSeekSet};
use vst3::Steinberg::Vst::BusDirections_::{kInput, kOutput};
use vst3::Steinberg::Vst::Event_::EventTypes_::{kNoteOffEvent, kNoteOnEvent};
use vst3::Steinberg::Vst::MediaTypes_::{kAudio, kEvent};
use vst3::Steinberg::Vst::ProcessContext_::StatesAndFlags_::{
    kBarPositionValid, kPlaying, kProjectTimeMusicValid, kTempoValid, kTimeSigValid,
};
use vst3::Steinberg::Vst::{
    AudioBusBuffers, AudioBusBuffers__type0, Event, Event__type0, IAudioProcessor,
    IAudioProcessorTrait, IComponent, IComponentTrait, IEditController, IEditControllerTrait,
    IEventList, IEventListTrait, IParamValueQueue, IParamValueQueueTrait, IParameterChanges,
    IParameterChangesTrait, NoteOffEvent, NoteOnEvent, ParamID, ParamValue, ParameterInfo,
    ProcessContext, ProcessData, ProcessModes_::kOffline, ProcessSetup,
    SymbolicSampleSizes_::kSample32,
};
use vst3::Steinberg::{
    kInvalidArgument, kNotImplemented, kResultFalse, kResultOk, tresult, IBStream, IBStreamTrait,
    IPluginBaseTrait, IPluginFactory, IPluginFactoryTrait, PClassInfo,
};
use vst3::{Class, ComPtr, ComWrapper, Interface};

const SAMPLE_RATE: f64 = 48_000.0;
const BLOCK: usize = 512;

/// Host transport: 120 BPM in 4/4, so a bar is two seconds, 96,000 frames at 48 kHz.
const TEMPO_BPM: f64 = 120.0;
const BEATS_PER_BAR: f64 = 4.0;
const BAR: usize = (BEATS_PER_BAR * 60.0 / TEMPO_BPM * SAMPLE_RATE) as usize;

/// Room reserved in each event list. A block of the riff or of a take holds a handful of notes;
/// the output list refuses (rather than grows) past this, and the test would then miss notes.
const EVENT_CAPACITY: usize = 256;

// ---------------------------------------------------------------------------------------------
// The module: dlopen, ModuleEntry, the factory, ModuleExit
// ---------------------------------------------------------------------------------------------

/// The plugin binary inside the bundle named by `CONTINUO_TEST_VST3`. Fails (never skips) without it.
fn vst3_binary() -> PathBuf {
    let bundle = match std::env::var_os("CONTINUO_TEST_VST3").filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => panic!(
            "CONTINUO_TEST_VST3 is not set: it names the continuo.vst3 bundle built with \
             assert_process_allocs. Run the tests with `cargo xtask test`, which builds it."
        ),
    };
    let binary = bundle.join("Contents/x86_64-linux/continuo.so");
    assert!(
        binary.is_file(),
        "CONTINUO_TEST_VST3={} has no Contents/x86_64-linux/continuo.so; run `cargo xtask test`",
        bundle.display()
    );
    binary
}

/// A loaded VST3 module. Dropping it releases the factory and calls `ModuleExit`, so every object
/// made from it must be released first.
struct Module {
    factory: Option<ComPtr<IPluginFactory>>,
    module_exit: extern "C" fn() -> bool,
}

impl Module {
    /// Opens the binary and enters it the way a Linux host must: `ModuleEntry(handle)` before
    /// anything else, then `GetPluginFactory`.
    fn load(binary: &Path) -> Self {
        let path = CString::new(binary.as_os_str().as_bytes()).unwrap();
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            let error = unsafe { CStr::from_ptr(libc::dlerror()) };
            panic!("dlopen({}): {}", binary.display(), error.to_string_lossy());
        }
        let symbol = |name: &CStr| {
            let ptr = unsafe { libc::dlsym(handle, name.as_ptr()) };
            assert!(!ptr.is_null(), "the module does not export {name:?}");
            ptr
        };
        unsafe {
            let module_entry: extern "C" fn(*mut c_void) -> bool =
                std::mem::transmute(symbol(c"ModuleEntry"));
            let module_exit: extern "C" fn() -> bool = std::mem::transmute(symbol(c"ModuleExit"));
            let get_factory: extern "system" fn() -> *mut IPluginFactory =
                std::mem::transmute(symbol(c"GetPluginFactory"));
            assert!(module_entry(handle), "ModuleEntry returned false");
            // The factory comes with a reference the host owns.
            let factory = ComPtr::from_raw(get_factory()).expect("GetPluginFactory returned null");
            // The module stays mapped for the rest of the process: the plugin's threads and
            // thread-local destructors may outlive its objects, so it is never dlclose'd.
            Module {
                factory: Some(factory),
                module_exit,
            }
        }
    }

    /// Creates the factory's one "Audio Module Class" as an `IComponent`.
    fn create_component(&self) -> ComPtr<IComponent> {
        let factory = self.factory.as_ref().unwrap();
        let classes: Vec<PClassInfo> = (0..unsafe { factory.countClasses() })
            .map(|index| {
                let mut info: PClassInfo = unsafe { std::mem::zeroed() };
                assert_eq!(unsafe { factory.getClassInfo(index, &mut info) }, kResultOk);
                info
            })
            .collect();
        let names: Vec<_> = classes
            .iter()
            .map(|info| (c_chars(&info.name), c_chars(&info.category)))
            .collect();
        assert_eq!(
            names,
            [("Continuo".to_string(), "Audio Module Class".to_string())],
            "the factory's classes"
        );
        let mut obj = std::ptr::null_mut();
        let result = unsafe {
            factory.createInstance(
                classes[0].cid.as_ptr(),
                IComponent::IID.as_ptr() as *const _,
                &mut obj,
            )
        };
        assert_eq!(result, kResultOk, "createInstance(IComponent)");
        unsafe { ComPtr::from_raw(obj as *mut IComponent) }.expect("createInstance gave null")
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        drop(self.factory.take());
        assert!((self.module_exit)(), "ModuleExit returned false");
    }
}

/// A NUL-terminated `char8` array as a string.
fn c_chars(chars: &[std::ffi::c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A NUL-terminated UTF-16 `String128` as a string.
fn utf16_chars(chars: &[u16]) -> String {
    let len = chars.iter().position(|&c| c == 0).unwrap_or(chars.len());
    String::from_utf16_lossy(&chars[..len])
}

// ---------------------------------------------------------------------------------------------
// Host-side COM objects: a memory stream, event lists, parameter changes
// ---------------------------------------------------------------------------------------------

/// An in-memory `IBStream` for `getState` and `setState`.
struct MemoryStream {
    bytes: RefCell<Vec<u8>>,
    pos: Cell<usize>,
}

impl MemoryStream {
    fn new(bytes: Vec<u8>) -> ComWrapper<Self> {
        ComWrapper::new(MemoryStream {
            bytes: RefCell::new(bytes),
            pos: Cell::new(0),
        })
    }
}

impl Class for MemoryStream {
    type Interfaces = (IBStream,);
}

impl IBStreamTrait for MemoryStream {
    unsafe fn read(
        &self,
        buffer: *mut c_void,
        num_bytes: i32,
        num_bytes_read: *mut i32,
    ) -> tresult {
        let bytes = self.bytes.borrow();
        let start = self.pos.get().min(bytes.len());
        let n = (num_bytes.max(0) as usize).min(bytes.len() - start);
        std::ptr::copy_nonoverlapping(bytes[start..].as_ptr(), buffer as *mut u8, n);
        self.pos.set(start + n);
        if !num_bytes_read.is_null() {
            *num_bytes_read = n as i32;
        }
        kResultOk
    }

    unsafe fn write(
        &self,
        buffer: *mut c_void,
        num_bytes: i32,
        num_bytes_written: *mut i32,
    ) -> tresult {
        let n = num_bytes.max(0) as usize;
        let data = std::slice::from_raw_parts(buffer as *const u8, n);
        let mut bytes = self.bytes.borrow_mut();
        let start = self.pos.get();
        if bytes.len() < start + n {
            bytes.resize(start + n, 0);
        }
        bytes[start..start + n].copy_from_slice(data);
        self.pos.set(start + n);
        if !num_bytes_written.is_null() {
            *num_bytes_written = n as i32;
        }
        kResultOk
    }

    unsafe fn seek(&self, pos: i64, mode: i32, result: *mut i64) -> tresult {
        let base = match mode as u32 {
            m if m == kIBSeekSet => 0,
            m if m == kIBSeekCur => self.pos.get() as i64,
            m if m == kIBSeekEnd => self.bytes.borrow().len() as i64,
            _ => return kInvalidArgument,
        };
        if base + pos < 0 {
            return kInvalidArgument;
        }
        self.pos.set((base + pos) as usize);
        if !result.is_null() {
            *result = base + pos;
        }
        kResultOk
    }

    unsafe fn tell(&self, pos: *mut i64) -> tresult {
        if pos.is_null() {
            return kInvalidArgument;
        }
        *pos = self.pos.get() as i64;
        kResultOk
    }
}

/// An `IEventList`: the host fills the input list before a process call, and the plugin fills
/// the output list during one. It never grows inside `process()`: a full list refuses events.
struct EventList {
    events: RefCell<Vec<Event>>,
}

impl EventList {
    fn new() -> ComWrapper<Self> {
        ComWrapper::new(EventList {
            events: RefCell::new(Vec::with_capacity(EVENT_CAPACITY)),
        })
    }
}

impl Class for EventList {
    type Interfaces = (IEventList,);
}

impl IEventListTrait for EventList {
    unsafe fn getEventCount(&self) -> i32 {
        self.events.borrow().len() as i32
    }

    unsafe fn getEvent(&self, index: i32, e: *mut Event) -> tresult {
        match self.events.borrow().get(index as usize) {
            Some(event) if !e.is_null() => {
                *e = *event;
                kResultOk
            }
            _ => kInvalidArgument,
        }
    }

    unsafe fn addEvent(&self, e: *mut Event) -> tresult {
        let mut events = self.events.borrow_mut();
        if e.is_null() || events.len() == events.capacity() {
            return kResultFalse;
        }
        events.push(*e);
        kResultOk
    }
}

/// One parameter's changes within a block, as (sample offset, normalized value) points.
struct ParamQueue {
    id: ParamID,
    points: RefCell<Vec<(i32, ParamValue)>>,
}

impl Class for ParamQueue {
    type Interfaces = (IParamValueQueue,);
}

impl IParamValueQueueTrait for ParamQueue {
    unsafe fn getParameterId(&self) -> ParamID {
        self.id
    }

    unsafe fn getPointCount(&self) -> i32 {
        self.points.borrow().len() as i32
    }

    unsafe fn getPoint(
        &self,
        index: i32,
        sample_offset: *mut i32,
        value: *mut ParamValue,
    ) -> tresult {
        match self.points.borrow().get(index as usize) {
            Some(&(offset, v)) if !sample_offset.is_null() && !value.is_null() => {
                *sample_offset = offset;
                *value = v;
                kResultOk
            }
            _ => kInvalidArgument,
        }
    }

    /// The plugin only reads input changes.
    unsafe fn addPoint(
        &self,
        _sample_offset: i32,
        _value: ParamValue,
        _index: *mut i32,
    ) -> tresult {
        kNotImplemented
    }
}

/// The block's `inputParameterChanges`: one parameter (the one the test automates), listed only
/// while its queue has points.
struct ParamChanges {
    queue: ComWrapper<ParamQueue>,
}

impl ParamChanges {
    fn new(id: ParamID) -> ComWrapper<Self> {
        ComWrapper::new(ParamChanges {
            queue: ComWrapper::new(ParamQueue {
                id,
                points: RefCell::new(Vec::with_capacity(4)),
            }),
        })
    }
}

impl Class for ParamChanges {
    type Interfaces = (IParameterChanges,);
}

impl IParameterChangesTrait for ParamChanges {
    unsafe fn getParameterCount(&self) -> i32 {
        (!self.queue.points.borrow().is_empty()) as i32
    }

    /// Like the SDK's own host classes, this hands out a pointer without a reference.
    unsafe fn getParameterData(&self, index: i32) -> *mut IParamValueQueue {
        if index == 0 && self.getParameterCount() == 1 {
            self.queue
                .as_com_ref::<IParamValueQueue>()
                .unwrap()
                .as_ptr()
        } else {
            std::ptr::null_mut()
        }
    }

    /// The plugin only reads input changes.
    unsafe fn addParameterData(
        &self,
        _id: *const ParamID,
        _index: *mut i32,
    ) -> *mut IParamValueQueue {
        std::ptr::null_mut()
    }
}

// ---------------------------------------------------------------------------------------------
// State: nice-plug's VST3 state is its JSON alone (the CLAP state prefixes an 8-byte length)
// ---------------------------------------------------------------------------------------------

fn save_state(component: &ComPtr<IComponent>) -> Value {
    let stream = MemoryStream::new(Vec::new());
    let result = unsafe { component.getState(stream.as_com_ref::<IBStream>().unwrap().as_ptr()) };
    assert_eq!(result, kResultOk, "getState");
    let bytes = stream.bytes.borrow();
    serde_json::from_slice(&bytes).expect("the VST3 state is JSON")
}

fn load_state(component: &ComPtr<IComponent>, state: &Value) {
    let stream = MemoryStream::new(serde_json::to_vec(state).unwrap());
    let result = unsafe { component.setState(stream.as_com_ref::<IBStream>().unwrap().as_ptr()) };
    assert_eq!(result, kResultOk, "setState");
}

/// `state` with a persisted field replaced: nice-plug stores each field's value as a JSON document
/// inside a JSON string.
fn with_field(state: &Value, key: &str, value: &Value) -> Value {
    let mut state = state.clone();
    state["fields"][key] = Value::String(value.to_string());
    state
}

/// `state` with an integer parameter's plain value replaced (saved as `{"i32": value}`).
fn with_int_param(state: &Value, string_id: &str, value: i32) -> Value {
    let mut state = state.clone();
    assert!(
        state["params"][string_id]["i32"].is_i64(),
        "state has no integer parameter {string_id}: {}",
        state["params"]
    );
    state["params"][string_id] = serde_json::json!({ "i32": value });
    state
}

/// The VST3 id of the parameter titled `title`, found the way a host finds it.
fn param_id(controller: &ComPtr<IEditController>, title: &str) -> ParamID {
    let mut titles = Vec::new();
    for index in 0..unsafe { controller.getParameterCount() } {
        let mut info: ParameterInfo = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { controller.getParameterInfo(index, &mut info) },
            kResultOk
        );
        let name = utf16_chars(&info.title);
        if name == title {
            return info.id;
        }
        titles.push(name);
    }
    panic!("no parameter titled {title:?}; have {titles:?}")
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

/// The demo riff's notes as (start frame, end frame, key, velocity 0-1) at 120 BPM, 48 kHz.
fn demo_riff_frames() -> Vec<(usize, usize, i16, f32)> {
    let riff = continuo::midi_file::read_notes(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/demo-riff.mid"
    )))
    .expect("the demo riff reads");
    let frame = |beats: f64| (beats * 60.0 / TEMPO_BPM * SAMPLE_RATE).round() as usize;
    riff.iter()
        .map(|n| {
            (
                frame(n.start_beats),
                frame(n.start_beats + n.duration_beats),
                n.pitch as i16,
                n.velocity as f32 / 127.0,
            )
        })
        .collect()
}

fn note_event(frame_in_block: usize, is_on: bool, pitch: i16, velocity: f32) -> Event {
    let mut event: Event = unsafe { std::mem::zeroed() };
    event.sampleOffset = frame_in_block as i32;
    event.r#type = (if is_on { kNoteOnEvent } else { kNoteOffEvent }) as u16;
    event.__field0 = if is_on {
        Event__type0 {
            noteOn: NoteOnEvent {
                channel: 0,
                pitch,
                tuning: 0.0,
                velocity,
                length: 0,
                noteId: -1,
            },
        }
    } else {
        Event__type0 {
            noteOff: NoteOffEvent {
                channel: 0,
                pitch,
                velocity,
                noteId: -1,
                tuning: 0.0,
            },
        }
    };
    event
}

/// The transport of a block starting at `frame`: playing from the song's start, with the bar it
/// lies in.
fn process_context(frame: usize) -> ProcessContext {
    let beats = frame as f64 / SAMPLE_RATE * TEMPO_BPM / 60.0;
    let mut context: ProcessContext = unsafe { std::mem::zeroed() };
    context.state =
        kPlaying | kTempoValid | kTimeSigValid | kProjectTimeMusicValid | kBarPositionValid;
    context.sampleRate = SAMPLE_RATE;
    context.projectTimeSamples = frame as i64;
    context.projectTimeMusic = beats;
    context.barPositionMusic = (beats / BEATS_PER_BAR).floor() * BEATS_PER_BAR;
    context.tempo = TEMPO_BPM;
    context.timeSigNumerator = BEATS_PER_BAR as i32;
    context.timeSigDenominator = 4;
    context
}

/// Fed the demo riff as VST3 note events for two bars, with the shipped notes model loaded and
/// Generate pressed at the end of bar 2, an offline render plays a continuation from bar 3 and
/// sends its notes to the host as VST3 note events, each on with its off, inside the take's bars.
#[test]
fn notes_model_takes_midi_in_and_sends_its_take_as_midi() {
    let module = Module::load(&vst3_binary());
    let component = module.create_component();
    // nice-plug ignores the host context, so no IHostApplication is needed.
    assert_eq!(
        unsafe { component.initialize(std::ptr::null_mut()) },
        kResultOk
    );
    // nice-plug's component is also its processor and its (single-component) controller.
    let processor: ComPtr<IAudioProcessor> = component.cast().expect("IAudioProcessor");
    let controller: ComPtr<IEditController> = component.cast().expect("IEditController");
    let generate = param_id(&controller, "Generate");

    // Load the notes model and the take's settings through the state, as a project would:
    // 2 bars of context, a 2-bar take, a fixed seed.
    let notes_model = std::env::var("CONTINUO_TEST_NOTES_MODEL")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../models/notes").to_string());
    let state = with_field(
        &save_state(&component),
        "model-dir",
        &Value::String(notes_model),
    );
    let state = with_int_param(&state, "ctxbars", 2);
    let state = with_int_param(&state, "lenbars", 2);
    let state = with_int_param(&state, "seed", 7);
    load_state(&component, &state);
    assert_eq!(
        save_state(&component)["params"],
        state["params"],
        "the state's params stuck"
    );

    // Offline processing: the plugin waits for its take instead of skipping it. nice-plug 0.4.2's
    // setupProcessing gives the plugin the *previous* call's process mode, so it takes a second
    // call (as hosts make anyway, e.g. before every activation) for the plugin to see offline.
    let mut setup = ProcessSetup {
        processMode: kOffline as i32,
        symbolicSampleSize: kSample32 as i32,
        maxSamplesPerBlock: BLOCK as i32,
        sampleRate: SAMPLE_RATE,
    };
    for _ in 0..2 {
        assert_eq!(unsafe { processor.setupProcessing(&mut setup) }, kResultOk);
    }
    for (media, direction) in [
        (kAudio, kInput),
        (kAudio, kOutput),
        (kEvent, kInput),
        (kEvent, kOutput),
    ] {
        let (media, direction) = (media as i32, direction as i32);
        assert_eq!(
            unsafe { component.getBusCount(media, direction) },
            1,
            "bus {media}/{direction}"
        );
        assert_eq!(
            unsafe { component.activateBus(media, direction, 0, 1) },
            kResultOk
        );
    }
    assert_eq!(
        unsafe { component.setActive(1) },
        kResultOk,
        "setActive(true)"
    );
    assert_eq!(
        unsafe { processor.setProcessing(1) },
        kResultOk,
        "setProcessing(true)"
    );

    let total = 4 * BAR;
    let riff = demo_riff_frames();
    // Generate goes to 1 in the last block of bar 2 and back to 0 a tenth of a second later.
    let trigger = [
        (2 * BAR - BLOCK / 2, 1.0),
        (2 * BAR - BLOCK / 2 + 4_800, 0.0),
    ];
    let in_events = EventList::new();
    let out_events = EventList::new();
    let param_changes = ParamChanges::new(generate);
    let mut inputs = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    let mut outputs = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    let mut out = [Vec::with_capacity(total), Vec::with_capacity(total)];
    // (absolute frame, pitch, velocity, is_on) of every note event the plugin sent.
    let mut sent: Vec<(usize, i16, f32, bool)> = Vec::new();
    let mut done = 0;
    while done < total {
        let len = BLOCK.min(total - done);
        let in_block = |frame: usize| (done..done + len).contains(&frame);

        // The riff's note events in time order, offs before ons at the same frame; notes still
        // held at the end of bar 2 end there.
        let mut notes = Vec::new();
        for &(start, end, pitch, velocity) in &riff {
            let end = end.min(2 * BAR - 1);
            if in_block(end) {
                notes.push((end, false, pitch, 0.0));
            }
            if in_block(start) {
                notes.push((start, true, pitch, velocity));
            }
        }
        notes.sort_by_key(|&(frame, is_on, ..)| (frame, is_on));
        assert!(
            notes.len() <= EVENT_CAPACITY,
            "too many riff events in one block"
        );
        {
            let mut events = in_events.events.borrow_mut();
            events.clear();
            events.extend(notes.iter().map(|&(frame, is_on, pitch, velocity)| {
                note_event(frame - done, is_on, pitch, velocity)
            }));
        }
        {
            let mut points = param_changes.queue.points.borrow_mut();
            points.clear();
            points.extend(
                trigger
                    .iter()
                    .filter(|t| in_block(t.0))
                    .map(|&(frame, value)| ((frame - done) as i32, value)),
            );
        }
        out_events.events.borrow_mut().clear();

        let mut in_ptrs = inputs.each_mut().map(|c| c.as_mut_ptr());
        let mut out_ptrs = outputs.each_mut().map(|c| c.as_mut_ptr());
        let mut in_bus = AudioBusBuffers {
            numChannels: 2,
            silenceFlags: 0,
            __field0: AudioBusBuffers__type0 {
                channelBuffers32: in_ptrs.as_mut_ptr(),
            },
        };
        let mut out_bus = AudioBusBuffers {
            numChannels: 2,
            silenceFlags: 0,
            __field0: AudioBusBuffers__type0 {
                channelBuffers32: out_ptrs.as_mut_ptr(),
            },
        };
        let mut context = process_context(done);
        let mut data = ProcessData {
            processMode: kOffline as i32,
            symbolicSampleSize: kSample32 as i32,
            numSamples: len as i32,
            numInputs: 1,
            numOutputs: 1,
            inputs: &mut in_bus,
            outputs: &mut out_bus,
            inputParameterChanges: param_changes
                .as_com_ref::<IParameterChanges>()
                .unwrap()
                .as_ptr(),
            outputParameterChanges: std::ptr::null_mut(),
            inputEvents: in_events.as_com_ref::<IEventList>().unwrap().as_ptr(),
            outputEvents: out_events.as_com_ref::<IEventList>().unwrap().as_ptr(),
            processContext: &mut context,
        };
        assert_eq!(
            unsafe { processor.process(&mut data) },
            kResultOk,
            "process at frame {done}"
        );

        for event in out_events.events.borrow().iter() {
            let frame = done + event.sampleOffset as usize;
            assert!(
                (event.sampleOffset as usize) < len,
                "event outside its block: {}",
                event.sampleOffset
            );
            match event.r#type as u32 {
                t if t == kNoteOnEvent => {
                    let on = unsafe { event.__field0.noteOn };
                    sent.push((frame, on.pitch, on.velocity, true));
                }
                t if t == kNoteOffEvent => {
                    let off = unsafe { event.__field0.noteOff };
                    sent.push((frame, off.pitch, off.velocity, false));
                }
                t => panic!("unexpected output event type {t} at frame {frame}"),
            }
        }
        for (channel, output) in out.iter_mut().zip(&outputs) {
            assert!(
                output[..len].iter().all(|s| s.is_finite() && s.abs() < 4.0),
                "output out of bounds at frame {done}"
            );
            channel.extend_from_slice(&output[..len]);
        }
        done += len;
    }

    assert_eq!(
        unsafe { processor.setProcessing(0) },
        kResultOk,
        "setProcessing(false)"
    );
    assert_eq!(
        unsafe { component.setActive(0) },
        kResultOk,
        "setActive(false)"
    );
    assert_eq!(unsafe { component.terminate() }, kResultOk, "terminate");
    drop((processor, controller, component));
    drop(module);

    let ons: Vec<_> = sent.iter().filter(|e| e.3).collect();
    let first_sound = out[0].iter().position(|s| s.abs() > 1e-4);
    eprintln!(
        "  VST3 notes model: {} notes sent as MIDI, first note-on at frame {:?} (bar 3 starts at {}), \
         first sound at frame {first_sound:?}",
        ons.len(),
        ons.first().map(|e| e.0),
        2 * BAR
    );
    assert!(!ons.is_empty(), "the take sent no note events");
    assert!(
        sent.iter().all(|e| e.0 >= 2 * BAR && e.0 < total),
        "note events outside the take's bars: {sent:?}"
    );
    assert!(
        sent.iter().all(|e| (0..=127).contains(&e.1)),
        "pitches out of MIDI range: {sent:?}"
    );
    assert!(
        ons.iter().all(|e| e.2 > 0.0 && e.2 <= 1.0),
        "note-on velocities out of (0, 1]: {ons:?}"
    );
    // Every note-on is closed by a note-off of its pitch, and no note-off closes nothing.
    let mut held = [0i32; 128];
    for &(frame, pitch, _, is_on) in &sent {
        held[pitch as usize] += if is_on { 1 } else { -1 };
        assert!(
            held[pitch as usize] >= 0,
            "note-off of {pitch} at frame {frame} with no note-on"
        );
    }
    assert!(
        held.iter().all(|&h| h == 0),
        "note-ons without note-offs: {held:?}"
    );

    // The riff is MIDI only and the input silent, so all sound is the take's: none before bar 3,
    // and the first sound where the first note starts (the instruments' 4-frame grid and attack).
    for channel in &out {
        assert!(
            channel[..2 * BAR].iter().all(|&s| s == 0.0),
            "sound before the take"
        );
    }
    let first_on = ons[0].0;
    let first_sound = first_sound.expect("the take is silent");
    assert!(
        first_sound + 8 >= first_on && first_sound <= first_on + 200,
        "first note-on at frame {first_on}, first sound at frame {first_sound}"
    );
    let energy: f32 = out[0][2 * BAR..].iter().map(|s| s * s).sum();
    assert!(energy > 1.0, "the take is nearly silent (energy {energy})");
}
