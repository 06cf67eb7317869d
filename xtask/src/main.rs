//! `cargo xtask`: set-up, bundling, installing, the demo, the tests and the benchmarks.
//!
//! Every command does the set-up it needs, so a fresh machine needs only Rust and Python 3.

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const ORT_VERSION: &str = "1.31.1";
const ORT_LIBRARY: &str = "libonnxruntime.so.1.31.1";
/// The wheel the runtime library comes from: fixed Python and platform tags so every machine
/// fetches the same file, whatever its own Python.
const ORT_WHEEL: &str = "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl";
const ORT_WHEEL_SHA256: &str = "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f";
const ORT_LIBRARY_SHA256: &str = "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3";
/// Files copied from the wheel beside the library: its licence and third-party notices.
const ORT_NOTICES: [(&str, &str); 2] = [
    ("onnxruntime/LICENSE", "ONNXRUNTIME-LICENSE"),
    (
        "onnxruntime/ThirdPartyNotices.txt",
        "ONNXRUNTIME-ThirdPartyNotices.txt",
    ),
];

/// The audio-to-notes model: Spotify's Basic Pitch, Apache-2.0, from its PyPI wheel (pure Python,
/// so one file for every platform). Fetched at set-up like the runtime, never committed.
const BASIC_PITCH_VERSION: &str = "0.4.0";
const BASIC_PITCH_WHEEL: &str = "basic_pitch-0.4.0-py2.py3-none-any.whl";
const BASIC_PITCH_WHEEL_SHA256: &str =
    "738adb503aae7fdfc7d1e1511aa0ce35052315f260a19531ef4c356708425db0";
const BASIC_PITCH_MODEL_SHA256: &str =
    "2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec";
/// Wheel entry and the name it gets in `models/transcriber/`.
const BASIC_PITCH_FILES: [(&str, &str); 3] = [
    ("basic_pitch/saved_models/icassp_2022/nmp.onnx", "nmp.onnx"),
    ("basic_pitch-0.4.0.dist-info/LICENSE", "BASIC-PITCH-LICENSE"),
    ("basic_pitch-0.4.0.dist-info/NOTICE", "BASIC-PITCH-NOTICE"),
];

const USAGE: &str = "usage: cargo xtask <command>

  setup                 fetch ONNX Runtime 1.31.1 and the Basic Pitch transcriber from their PyPI
                        wheels (sha256-checked, cached)
  bundle continuo [--release]
                        build continuo.vst3 and continuo-clap/continuo.clap in target/bundled,
                        each with ONNX Runtime and the bundled models beside the plugin binary
  install               bundle (release) and copy to ~/.vst3 and ~/.clap
  demo                  the main job: bundle and run the command line engine on the demo riff
  test                  every test: Rust unit and integration tests, the CLAP host harness and
                        the Python host tests (pedalboard, DawDreamer, headless Ardour 7)
  eval-notes [ARGS]     continue the evaluation riffs (tests/riffs) with the shipped notes model and
                        v1, from MIDI and from audio rendered by fluidsynth, and print the figures
                        next to the baselines (out/eval-notes.md); ARGS go to continuo-eval
  bench [--no-musicgen] every figure in one table (out/bench.md): the audio thread's instructions
                        and time per 64-frame block next to a plain copy, the default model's
                        speed, MusicGen's step rate next to the Python loop, memory per instance
                        at 48 and 96 kHz, fuzz executions per second
  fuzz [CASES]          the fuzz targets (tests/fuzz.rs: manifest, both tokenizers, MIDI files,
                        MIDI input events, WAV files, ONNX graphs) with CASES inputs each (default
                        1,000,000; CI runs 10,000), release build, cases and execs/s per target
  export-musicgen --checkpoint DIR --out MODEL_DIR [--int8]
  export-musicgen --tiny-random [--stereo] --out MODEL_DIR [--int8]
                        a Hugging Face MusicGen checkpoint (or a tiny random one) to a Continuo
                        model folder, in its own Python environment (.venv-musicgen)
  bench-musicgen        decoder steps per second of a random model with musicgen-small's
                        dimensions: Continuo, a plain Python onnxruntime loop, the memory floor";

fn main() -> Result<()> {
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "setup" => setup(&root).and_then(|lib| {
            println!("ONNX Runtime {ORT_VERSION}: {}", lib.display());
            let transcriber = setup_transcriber(&root)?;
            println!(
                "Basic Pitch {BASIC_PITCH_VERSION}: {}",
                transcriber.display()
            );
            Ok(())
        }),
        "bundle" => bundle(&root, &rest),
        "install" => install(&root),
        "demo" => demo(&root),
        "test" => test(&root, &rest),
        "bench" => bench(&root, &rest),
        "eval-notes" => eval_notes(&root, &rest),
        "fuzz" => fuzz(&root, &rest),
        "export-musicgen" => export_musicgen(&root, &rest),
        "bench-musicgen" => bench_musicgen(&root).map(|_| ()),
        _ => {
            println!("{USAGE}");
            if command.is_empty() || command == "help" || command == "--help" {
                Ok(())
            } else {
                bail!("unknown command {command:?}")
            }
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Makes sure the runtime library is in `.cache/`, fetching and checking it when not.
fn setup(root: &Path) -> Result<PathBuf> {
    let cache = root
        .join(".cache")
        .join(format!("onnxruntime-{ORT_VERSION}"));
    let lib = cache.join(ORT_LIBRARY);
    let notices_present = ORT_NOTICES.iter().all(|(_, n)| cache.join(n).is_file());
    if notices_present && lib.is_file() && sha256_file(&lib)? == ORT_LIBRARY_SHA256 {
        return Ok(lib);
    }
    // Fixed Python and platform tags, so every machine fetches the same file.
    let wheel = fetch_wheel(
        root,
        &[
            "--python-version",
            "3.11",
            "--platform",
            "manylinux_2_28_x86_64",
            "--implementation",
            "cp",
        ],
        &format!("onnxruntime=={ORT_VERSION}"),
        ORT_WHEEL,
        ORT_WHEEL_SHA256,
    )?;
    fs::create_dir_all(&cache)?;
    let library_entry = format!("onnxruntime/capi/{ORT_LIBRARY}");
    let mut entries = vec![(library_entry.as_str(), lib.clone())];
    entries.extend(
        ORT_NOTICES
            .iter()
            .map(|(name, dest)| (*name, cache.join(dest))),
    );
    extract_from_wheel(&wheel, &entries)?;
    let found = sha256_file(&lib)?;
    if found != ORT_LIBRARY_SHA256 {
        bail!(
            "{} has sha256 {found}, expected {ORT_LIBRARY_SHA256}",
            lib.display()
        );
    }
    eprintln!("ONNX Runtime {ORT_VERSION} ready at {}", lib.display());
    Ok(lib)
}

/// Fetches a wheel from PyPI into `.cache/downloads` unless it is there with the expected
/// checksum; `pip_args` pin the platform tags of a binary wheel.
fn fetch_wheel(
    root: &Path,
    pip_args: &[&str],
    requirement: &str,
    wheel_name: &str,
    sha256: &str,
) -> Result<PathBuf> {
    let downloads = root.join(".cache").join("downloads");
    fs::create_dir_all(&downloads)?;
    let wheel = downloads.join(wheel_name);
    if !wheel.is_file() || sha256_file(&wheel)? != sha256 {
        run(Command::new(python())
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args(pip_args)
            .arg(requirement)
            .arg("-d")
            .arg(&downloads))
        .with_context(|| format!("fetching {requirement} from PyPI (needs Python 3 with pip)"))?;
    }
    let found = sha256_file(&wheel)?;
    if found != sha256 {
        bail!(
            "{} has sha256 {found}, expected {sha256}: refusing to use it",
            wheel.display()
        );
    }
    Ok(wheel)
}

/// Copies entries of a wheel (a zip) to their destinations, each through a `.part` file.
fn extract_from_wheel<D: AsRef<Path>>(wheel: &Path, entries: &[(&str, D)]) -> Result<()> {
    let mut archive = zip::ZipArchive::new(fs::File::open(wheel)?)?;
    for (name, dest) in entries {
        let dest = dest.as_ref();
        let mut entry = archive
            .by_name(name)
            .with_context(|| format!("{name} is not in {}", wheel.display()))?;
        let tmp = dest.with_extension("part");
        std::io::copy(&mut entry, &mut fs::File::create(&tmp)?)?;
        fs::rename(&tmp, dest)?;
    }
    Ok(())
}

/// Makes sure `models/transcriber/` holds Basic Pitch's `nmp.onnx` with its licence and notice,
/// taken from the PyPI wheel. Returns the model's path.
fn setup_transcriber(root: &Path) -> Result<PathBuf> {
    let dir = root.join("models").join("transcriber");
    let model = dir.join("nmp.onnx");
    let complete = BASIC_PITCH_FILES.iter().all(|(_, n)| dir.join(n).is_file());
    if complete && sha256_file(&model)? == BASIC_PITCH_MODEL_SHA256 {
        return Ok(model);
    }
    let wheel = fetch_wheel(
        root,
        &[],
        &format!("basic-pitch=={BASIC_PITCH_VERSION}"),
        BASIC_PITCH_WHEEL,
        BASIC_PITCH_WHEEL_SHA256,
    )?;
    fs::create_dir_all(&dir)?;
    let entries: Vec<_> = BASIC_PITCH_FILES
        .iter()
        .map(|(name, dest)| (*name, dir.join(dest)))
        .collect();
    extract_from_wheel(&wheel, &entries)?;
    let found = sha256_file(&model)?;
    if found != BASIC_PITCH_MODEL_SHA256 {
        bail!(
            "{} has sha256 {found}, expected {BASIC_PITCH_MODEL_SHA256}",
            model.display()
        );
    }
    Ok(model)
}

/// Hard-links (or copies) a file, replacing the destination.
fn place(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    let _ = fs::remove_file(to);
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to)
            .with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Puts the runtime library, its notices and the default model beside a plugin binary.
/// `default_model` overrides `models/default` (the test bundles carry the test model).
fn furnish(
    root: &Path,
    binary_dir: &Path,
    models_dir: &Path,
    default_model: Option<&Path>,
) -> Result<()> {
    let lib = setup(root)?;
    let cache = lib.parent().unwrap();
    place(&lib, &binary_dir.join(ORT_LIBRARY))?;
    for (_, notice) in ORT_NOTICES {
        place(&cache.join(notice), &binary_dir.join(notice))?;
    }
    // The plugin's instruments travel with every bundle (the notes family renders with them).
    for file in INSTRUMENT_FILES {
        let from = root.join("assets").join(file);
        if from.is_file() {
            place(&from, &binary_dir.join(file))?;
        }
    }
    // The transcriber (audio context for the notes family) with its licence and notice.
    let transcriber = setup_transcriber(root)?;
    for (_, name) in BASIC_PITCH_FILES {
        place(
            &transcriber.with_file_name(name),
            &models_dir.join("transcriber").join(name),
        )?;
    }
    let shipped = root.join(NOTES_MODEL);
    let default_model = default_model.unwrap_or(&shipped);
    if default_model.join("continuo.toml").is_file() {
        let dest = models_dir.join("default");
        let _ = fs::remove_dir_all(&dest);
        copy_model(default_model, &dest)?;
    }
    // The first notes model stays loadable from the panel's model list, for comparison.
    let v1 = root.join(NOTES_V1_MODEL);
    if v1.join("continuo.toml").is_file() {
        let dest = models_dir.join("notes-v1");
        let _ = fs::remove_dir_all(&dest);
        copy_model(&v1, &dest)?;
    }
    Ok(())
}

/// The files a bundle carries for the instruments: the SoundFont and its licence notice.
const INSTRUMENT_FILES: [&str; 2] = ["continuo-instruments.sf2", "continuo-instruments.LICENSE"];

/// Copies a model folder's manifest, every file it names, and its model card; nothing else
/// (the shipped model's folder also holds its training scripts).
fn copy_model(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    let manifest_text = fs::read_to_string(from.join("continuo.toml"))?;
    let manifest: toml::Table = manifest_text
        .parse()
        .context("the default model's continuo.toml")?;
    let mut files = vec!["continuo.toml".to_string(), "MODEL_CARD.md".to_string()];
    if let Some(toml::Value::Table(roles)) = manifest.get("files") {
        for entry in roles.values() {
            if let Some(path) = entry.get("path").and_then(|p| p.as_str()) {
                files.push(path.to_string());
            }
        }
    }
    for file in files {
        let source = from.join(&file);
        if source.is_file() {
            let target = to.join(&file);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::copy(&source, &target).with_context(|| format!("copy {}", source.display()))?;
        }
    }
    Ok(())
}

/// Lays out `<out>/continuo.vst3` and `<out>/continuo-clap/continuo.clap` around one plugin
/// binary (nice-plug exports both formats from the same library).
fn assemble(
    root: &Path,
    plugin_so: &Path,
    out: &Path,
    default_model: Option<&Path>,
) -> Result<(PathBuf, PathBuf)> {
    let vst3 = out.join("continuo.vst3");
    let vst3_bin_dir = vst3.join("Contents").join("x86_64-linux");
    fs::create_dir_all(&vst3_bin_dir)?;
    fs::copy(plugin_so, vst3_bin_dir.join("continuo.so"))?;
    furnish(
        root,
        &vst3_bin_dir,
        &vst3.join("Contents").join("Resources").join("models"),
        default_model,
    )?;
    let clap_dir = out.join("continuo-clap");
    fs::create_dir_all(&clap_dir)?;
    let clap = clap_dir.join("continuo.clap");
    fs::copy(plugin_so, &clap)?;
    furnish(root, &clap_dir, &clap_dir.join("models"), default_model)?;
    Ok((vst3, clap))
}

fn bundle(root: &Path, args: &[String]) -> Result<()> {
    setup(root)?;
    let mut nice_args = vec!["bundle".to_string()];
    if args.is_empty() {
        nice_args.push("continuo".into());
    }
    nice_args.extend(args.iter().cloned());
    nice_plug_xtask::main_with_args("cargo xtask", nice_args)?;
    std::env::set_current_dir(root)?;
    let bundled = root.join("target").join("bundled");
    // nice-plug-xtask writes continuo.clap and continuo.vst3; the CLAP gets a folder of its own
    // so the runtime library and models can travel beside it.
    let loose_clap = bundled.join("continuo.clap");
    let profile = if args.iter().any(|a| a == "--release") {
        "release"
    } else {
        "debug"
    };
    let so = root.join("target").join(profile).join("libcontinuo.so");
    let (vst3, clap) = assemble(root, &so, &bundled, None)?;
    let _ = fs::remove_file(&loose_clap);
    // The command line tool finds the runtime library beside itself too.
    let cli_dir = bundled.clone();
    furnish(root, &cli_dir, &cli_dir.join("models"), None)?;
    println!(
        "bundled:\n  {}\n  {}\n  {}",
        vst3.display(),
        clap.display(),
        bundled.join("continuo").display()
    );
    Ok(())
}

fn install(root: &Path) -> Result<()> {
    bundle(root, &["continuo".into(), "--release".into()])?;
    let home = PathBuf::from(std::env::var("HOME").context("HOME is not set")?);
    let bundled = root.join("target").join("bundled");
    let vst3_dest = home.join(".vst3").join("continuo.vst3");
    let clap_dest = home.join(".clap").join("continuo");
    let _ = fs::remove_dir_all(&vst3_dest);
    let _ = fs::remove_dir_all(&clap_dest);
    copy_dir(&bundled.join("continuo.vst3"), &vst3_dest)?;
    copy_dir(&bundled.join("continuo-clap"), &clap_dest)?;
    println!(
        "installed:\n  {}\n  {}",
        vst3_dest.display(),
        clap_dest.join("continuo.clap").display()
    );
    Ok(())
}

/// The Python environment for model scripts and host tests.
fn venv(root: &Path) -> Result<PathBuf> {
    python_env(
        &root.join(".venv"),
        &root.join("tests").join("host").join("requirements.txt"),
    )
}

/// A virtual environment at `venv` with `requirements` installed, made once and refreshed when
/// the requirements change. Returns its Python.
fn python_env(venv: &Path, requirements: &Path) -> Result<PathBuf> {
    let py = venv.join("bin").join("python");
    if !py.is_file() {
        run(Command::new(python()).args(["-m", "venv"]).arg(venv))?;
    }
    let wanted = sha256_file(requirements)?;
    let stamp = venv.join("continuo-requirements.sha256");
    if fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        run(Command::new(&py)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(requirements))?;
        fs::write(&stamp, &wanted)?;
    }
    Ok(py)
}

fn test_models(root: &Path, py: &Path) -> Result<PathBuf> {
    let out = root.join("target").join("test-models");
    run(Command::new(py)
        .arg(root.join("tests/models/make_test_models.py"))
        .arg(&out))?;
    Ok(out)
}

/// Programs the editor test needs: an X server, a window manager, input and screenshot tools.
const GUI_TEST_TOOLS: [(&str, &str); 5] = [
    ("Xvfb", "xvfb"),
    ("openbox", "openbox"),
    ("xdotool", "xdotool"),
    ("wmctrl", "wmctrl"),
    ("import", "imagemagick"),
];

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs the editor test's Debian packages when they are missing and we may (root).
fn gui_test_tools() -> Result<()> {
    let missing: Vec<&str> = GUI_TEST_TOOLS
        .iter()
        .filter(|(p, _)| !have(p))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !have("apt-get") || not_root() {
        eprintln!("note: the editor test needs {missing:?}; install them to run it");
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Installs Ardour 7 (Debian's `ardour`, for the headless DAW test) when it is missing and we may.
/// Without it the test says it was skipped.
fn ardour() -> Result<()> {
    if have("ardour7-lua") {
        return Ok(());
    }
    if !have("apt-get") || not_root() {
        eprintln!("note: the Ardour test needs Debian's `ardour` (7.x); it is skipped without it");
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends", "ardour"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn not_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() != b"0")
        .unwrap_or(true)
}

fn test(root: &Path, extra: &[String]) -> Result<()> {
    let lib = setup(root)?;
    let transcriber = setup_transcriber(root)?;
    gui_test_tools()?;
    ardour()?;
    let py = venv(root)?;
    let models = test_models(root, &py)?;
    // Build every test, the command line tool and, with them, the plugin under test: a debug
    // build in which any allocation inside process() aborts. One cargo invocation keeps one
    // feature set, so nothing is compiled twice; cargo leaves that cdylib in deps/.
    let mut build = Command::new("cargo");
    build.args([
        "build",
        "--workspace",
        "--tests",
        "--bins",
        "--features",
        "continuo/assert_process_allocs",
    ]);
    run(&mut build)?;
    let test_bundles = root.join("target").join("test-bundles");
    let (vst3, clap) = assemble(
        root,
        &root.join("target/debug/deps/libcontinuo.so"),
        &test_bundles,
        Some(&models.join("tone")),
    )?;
    let envs = [
        ("CONTINUO_TEST_CLAP", clap.clone()),
        ("CONTINUO_TEST_VST3", vst3.clone()),
        ("CONTINUO_TEST_MODELS", models.clone()),
        ("CONTINUO_TEST_ORT_LIBRARY", lib.clone()),
        ("CONTINUO_TEST_TRANSCRIBER", transcriber.clone()),
        ("CONTINUO_TEST_CLI", root.join("target/debug/continuo")),
        (
            "CONTINUO_TEST_ARTIFACTS",
            root.join("target").join("test-artifacts"),
        ),
    ];
    let mut cargo_test = Command::new("cargo");
    cargo_test.args([
        "test",
        "--workspace",
        "--features",
        "continuo/assert_process_allocs",
    ]);
    cargo_test.args(extra);
    cargo_test.envs(envs.iter().map(|(k, v)| (*k, v.as_os_str())));
    run(&mut cargo_test)?;
    // The notes model's reference tokenizer against the shared vectors (Rust side: issue 4).
    run(Command::new(&py).arg(root.join("models/notes/test_tokens.py")))?;
    // The v2 tokenizer's reference against its vectors (the Rust side runs them in the unit tests).
    run(Command::new(&py).arg(root.join("models/notes2/test_tokens.py")))?;
    // The shipped model on a few riffs (chords, bass, drums, two parts; MIDI and audio), held to
    // the bounds of continuo-eval --check: it loads, keeps the parts, the key, the bass range,
    // the register and the voicing, the key lock and the range hold, the audio path repeats
    // itself, "add drums" adds drums.
    eval_tools()?;
    let mut eval = Command::new(root.join("target/debug/continuo-eval"));
    eval.arg("--model").arg(root.join(NOTES_MODEL));
    for riff in CI_RIFFS {
        eval.args(["--riff", riff]);
    }
    eval.args(["--seeds", "1"])
        .args(eval_audio_args(root))
        .arg("--check")
        .envs(
            eval_envs(root)?
                .iter()
                .map(|(k, v)| (*k, v.as_os_str().to_owned())),
        );
    run(&mut eval)?;
    let mut pytest = Command::new(&py);
    pytest
        // -rs: a skipped test (no Ardour, no display tools) says why in the summary.
        .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
        .arg(root.join("tests/host"));
    pytest.envs(envs.iter().map(|(k, v)| (*k, v.as_os_str())));
    run(&mut pytest)?;
    Ok(())
}

fn demo(root: &Path) -> Result<()> {
    bundle(root, &["continuo".into(), "--release".into()])?;
    let out_dir = root.join("out");
    fs::create_dir_all(&out_dir)?;
    let cli = root.join("target/bundled/continuo");
    let default_model = root.join("target/bundled/models/default");
    if !default_model.join("continuo.toml").is_file() {
        // Before the default model exists, show the engine with the test model.
        let py = venv(root)?;
        let models = test_models(root, &py)?;
        eprintln!("note: no default model is bundled yet; the demo runs the engine with the tone-test model");
        let out = out_dir.join("demo-continuation.wav");
        run(Command::new(&cli)
            .args(["continue", "--model"])
            .arg(models.join("tone"))
            .arg("--input")
            .arg(root.join("assets/demo-riff.wav"))
            .args(["--bpm", "120", "--bars", "4", "--out"])
            .arg(&out))?;
        println!("demo written to {}", out.display());
        return Ok(());
    }
    // The shipped model continues the demo riff twice: from its MIDI, and from its audio (heard
    // by the transcriber). Each run writes audio, MIDI and a piano roll.
    let started = std::time::Instant::now();
    for (input, name) in [
        ("demo-riff.mid", "demo-from-midi"),
        ("demo-riff.wav", "demo-from-audio"),
    ] {
        run(Command::new(&cli)
            .args(["continue", "--model"])
            .arg(&default_model)
            .arg("--input")
            .arg(root.join("assets").join(input))
            .args([
                "--bpm",
                "120",
                "--bars",
                "8",
                "--context-bars",
                "2",
                "--seed",
                "7",
            ])
            .args(["--prompt", "add drums and a bass line", "--out"])
            .arg(out_dir.join(format!("{name}.wav")))
            .arg("--out-midi")
            .arg(out_dir.join(format!("{name}.mid")))
            .arg("--out-png")
            .arg(out_dir.join(format!("{name}.png"))))?;
    }
    println!(
        "demo written to {} and {} (wav, mid, png) in {:.2} s",
        out_dir.join("demo-from-midi.*").display(),
        out_dir.join("demo-from-audio.*").display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The shipped notes model (vocabulary v2) and the one before it, kept for comparison.
const NOTES_MODEL: &str = "models/notes2/continuo-notes-v2";
const NOTES_V1_MODEL: &str = "models/notes";

/// The riffs CI continues: held chords, a low synth bass, drums alone, chords with a melody.
const CI_RIFFS: [&str; 4] = [
    "pop_chords_c",
    "synth_bass_bbm",
    "house_drums",
    "chords_melody_e",
];

/// fluidsynth renders the riffs to audio for the evaluation's audio path: a synthesizer that is
/// not Continuo's own, with Debian's FluidR3 General MIDI font.
const GM_SOUND_FONT: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

fn eval_tools() -> Result<()> {
    if have("fluidsynth") && Path::new(GM_SOUND_FONT).is_file() {
        return Ok(());
    }
    if !have("apt-get") || not_root() {
        bail!("the evaluation needs fluidsynth and fluid-soundfont-gm (apt-get install fluidsynth fluid-soundfont-gm)");
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get").args(["install", "-y", "-qq", "fluidsynth", "fluid-soundfont-gm"]))
}

/// The environment the evaluation tool needs: the runtime, the transcriber, the instruments.
fn eval_envs(root: &Path) -> Result<Vec<(&'static str, PathBuf)>> {
    Ok(vec![
        ("CONTINUO_ORT_LIBRARY", setup(root)?),
        ("CONTINUO_TRANSCRIBER", setup_transcriber(root)?),
        ("CONTINUO_RESOURCES", root.join("assets")),
    ])
}

/// continuo-eval's flags for the audio path: riffs rendered by fluidsynth with the GM font,
/// kept in target/eval-audio.
fn eval_audio_args(root: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = [
        "--audio",
        "--fluidsynth",
        "fluidsynth",
        "--sound-font",
        GM_SOUND_FONT,
        "--work-dir",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(root.join("target").join("eval-audio").into());
    args
}

fn eval_notes(root: &Path, args: &[String]) -> Result<()> {
    eval_tools()?;
    let envs = eval_envs(root)?;
    run(Command::new("cargo").args([
        "build",
        "--release",
        "-p",
        "continuo",
        "--bin",
        "continuo-eval",
    ]))?;
    let out_dir = root.join("out");
    fs::create_dir_all(&out_dir)?;
    let mut eval = Command::new(root.join("target/release/continuo-eval"));
    eval.arg("--model")
        .arg(root.join(NOTES_MODEL))
        .arg("--model")
        .arg(root.join(NOTES_V1_MODEL))
        .args(eval_audio_args(root))
        .arg("--out")
        .arg(out_dir.join("eval-notes.md"))
        .args(["--per-riff"])
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_os_str())));
    run(&mut eval)
}

/// The long fuzz run: every target of tests/fuzz.rs with `CASES` inputs (CI runs 10,000 in the
/// debug build through `test`).
fn fuzz(root: &Path, args: &[String]) -> Result<()> {
    let cases = match args.first() {
        Some(n) => n
            .parse::<u64>()
            .map_err(|_| anyhow::anyhow!("fuzz CASES must be a number, got {n:?}"))?,
        None => 1_000_000,
    };
    let lib = setup(root)?;
    let py = venv(root)?;
    let models = test_models(root, &py)?;
    run(&mut fuzz_command(root, &lib, &models, cases))
}

/// The release run of tests/fuzz.rs with `cases` inputs per target; each target prints a
/// "[fuzz TARGET] N cases, R rejected with an error, 0 crashes, X execs/s" line.
fn fuzz_command(root: &Path, lib: &Path, models: &Path, cases: u64) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        .args([
            "test",
            "--release",
            "-p",
            "continuo-tests",
            "--test",
            "fuzz",
            "--",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("CONTINUO_FUZZ_CASES", cases.to_string())
        .env("CONTINUO_TEST_ORT_LIBRARY", lib)
        .env("CONTINUO_TEST_MODELS", models);
    cmd
}

/// A `RESULT key=value` line's value.
fn result_value(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("RESULT {key}=")))
        .and_then(|v| v.trim().parse().ok())
}

/// Runs a command, echoes and returns its stdout; fails with its stderr.
fn output_of(cmd: &mut Command) -> Result<String> {
    eprintln!("$ {cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("could not start {cmd:?}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    print!("{stdout}");
    if !out.status.success() {
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        bail!("{cmd:?} failed with {}", out.status);
    }
    Ok(stdout)
}

/// Every figure in one table: `cargo xtask bench [--no-musicgen]`, written to out/bench.md.
fn bench(root: &Path, args: &[String]) -> Result<()> {
    let lib = setup(root)?;
    let mut rows: Vec<[String; 3]> = Vec::new();

    // The audio thread: instructions per block under callgrind (exact, load-independent) and
    // time per block, each next to a plain copy of the block in the same run.
    let built = Command::new("cargo")
        .current_dir(root)
        .args([
            "bench",
            "--no-run",
            "-p",
            "continuo",
            "--bench",
            "audio_block",
        ])
        .output()
        .context("building the audio bench")?;
    let log = String::from_utf8_lossy(&built.stderr);
    if !built.status.success() {
        bail!("building the audio bench failed:\n{log}");
    }
    let exe = log
        .lines()
        .find_map(|l| {
            l.split_once("benches/audio_block.rs (")
                .map(|(_, r)| r.trim_end_matches(')'))
        })
        .map(|p| root.join(p))
        .context("cargo did not say where the audio bench is")?;
    if !have("valgrind") && !not_root() && have("apt-get") {
        run(Command::new("apt-get").args(["install", "-y", "-qq", "valgrind"]))?;
    }
    let instructions = |kind: &str| -> Result<f64> {
        let out = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(&exe)
            .env("CONTINUO_BENCH_CALLGRIND", kind)
            .output()
            .context("running valgrind (apt-get install valgrind)")?;
        let err = String::from_utf8_lossy(&out.stderr);
        err.lines()
            .find_map(|l| {
                l.split_once("Collected :")
                    .map(|(_, n)| n.trim().to_string())
            })
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("callgrind printed no total for {kind}:\n{err}"))
    };
    let blocks = 1_000.0;
    let setup_ir = instructions("setup")?;
    let engine_ir = (instructions("engine")? - setup_ir) / blocks;
    let copy_ir = (instructions("copy")? - setup_ir) / blocks;
    rows.push([
        "audio thread, 64-frame stereo block at 48 kHz, take playing: instructions (callgrind)"
            .into(),
        format!("{engine_ir:.0}"),
        format!("plain copy {copy_ir:.0} ({:.1}x)", engine_ir / copy_ir),
    ]);
    let timed = output_of(&mut Command::new(&exe))?;
    if let (Some(e), Some(c)) = (
        result_value(&timed, "engine_ns"),
        result_value(&timed, "copy_ns"),
    ) {
        rows.push([
            "the same block, time (median of 400 batches of 1,000)".into(),
            format!(
                "{e:.0} ns ({:.3} % of the block's 1.33 ms)",
                e / 1_333_333.0 * 100.0
            ),
            format!("plain copy {c:.0} ns ({:.1}x)", e / c),
        ]);
    }

    // The shipped notes model, tokens to audio, next to v1 in the same run.
    let notes = output_of(
        Command::new("cargo")
            .current_dir(root)
            .env("CONTINUO_ORT_LIBRARY", &lib)
            .args(["bench", "-q", "-p", "continuo", "--bench", "notes_take"]),
    )?;
    if let (Some(v2), Some(v1)) = (result_value(&notes, "v2_s"), result_value(&notes, "v1_s")) {
        rows.push([
            "default model (notes v2), 8 bars (16 s) from a four-part riff, one thread".into(),
            format!("{v2:.2} s ({:.1}x real time)", 16.0 / v2),
            format!("v1, one part: {v1:.2} s ({:.2}x)", v2 / v1),
        ]);
    }

    // MusicGen: Continuo's decoder loop next to the plain Python onnxruntime loop.
    if !args.iter().any(|a| a == "--no-musicgen") {
        let m = bench_musicgen(root)?;
        rows.push([
            "MusicGen (musicgen-small dimensions, random weights), one step with guidance".into(),
            format!("{:.1} ms ({:.2} steps/s)", m.rust_ms, 1e3 / m.rust_ms),
            format!(
                "Python loop {:.1} ms ({:.2}x as fast); memory floor {:.1} ms",
                m.python_ms,
                m.python_ms / m.rust_ms,
                m.floor_ms
            ),
        ]);
    }

    // Memory per instance: 1 and 8 instances of the release VST3 in one process (pedalboard),
    // each fed 30 s of audio and making a take from the shipped model.
    bundle(root, &["continuo".into(), "--release".into()])?;
    let py = venv(root)?;
    let vst3 = root.join("target/bundled/continuo.vst3");
    for rate in [48_000, 96_000] {
        let rss = |n: usize| -> Result<f64> {
            let out = output_of(
                Command::new(&py)
                    .arg(root.join("tests/host/bench/instances.py"))
                    .arg(&vst3)
                    .arg(rate.to_string())
                    .arg(n.to_string())
                    .env("CONTINUO_ORT_LIBRARY", &lib),
            )?;
            result_value(&out, "rss_mb").context("instances.py printed no RESULT")
        };
        let (one, eight) = (rss(1)?, rss(8)?);
        rows.push([
            format!(
                "memory, each instance after the first, {} kHz (8 instances, one take each)",
                rate / 1000
            ),
            format!("{:.1} MB", (eight - one) / 7.0),
            format!("1 instance {one:.0} MB, 8 instances {eight:.0} MB (target: +10 MB each)"),
        ]);
    }

    // Fuzz executions per second (release; 100,000 cases a target here, `cargo xtask fuzz` for
    // the long run).
    let models = test_models(root, &py)?;
    let fuzz = output_of(&mut fuzz_command(root, &lib, &models, 100_000))?;
    // "test NAME ... [fuzz TARGET] N cases, R rejected with an error, 0 crashes, X execs/s"
    for line in fuzz
        .lines()
        .filter_map(|l| l.split_once("[fuzz ").map(|(_, r)| r))
    {
        if let (Some((name, _)), Some((_, rest))) = (line.split_once(']'), line.rsplit_once(", ")) {
            rows.push([
                format!("fuzz target {name}"),
                rest.to_string(),
                "100,000 cases, 0 crashes".into(),
            ]);
        }
    }

    let mut table = String::from("| figure | value | reference, same run |\n|---|---|---|\n");
    for [figure, value, reference] in &rows {
        table.push_str(&format!("| {figure} | {value} | {reference} |\n"));
    }
    let out_dir = root.join("out");
    fs::create_dir_all(&out_dir)?;
    fs::write(out_dir.join("bench.md"), &table)?;
    println!("\n{table}\n(written to out/bench.md)");
    Ok(())
}

/// The exporter's Python environment (torch, transformers, optimum), made once and refreshed when
/// its requirements change. Only the MusicGen commands need it; the plugin never does.
fn musicgen_venv(root: &Path) -> Result<PathBuf> {
    python_env(
        &root.join(".venv-musicgen"),
        &root
            .join("models")
            .join("musicgen")
            .join("requirements.txt"),
    )
}

fn export_musicgen(root: &Path, args: &[String]) -> Result<()> {
    if args.is_empty() {
        bail!("usage: cargo xtask export-musicgen (--checkpoint DIR | --tiny-random [--stereo]) --out MODEL_DIR [--int8]");
    }
    let py = musicgen_venv(root)?;
    run(Command::new(py)
        .arg(root.join("models/musicgen/export.py"))
        .args(args))
}

/// Alternating runs of each loop in `bench-musicgen`.
const BENCH_ROUNDS: usize = 3;

/// Builds (once) a random model with musicgen-small's dimensions, then times Continuo's decoder
/// loop and the plain Python onnxruntime loop on it, one thread each, and the memory floor.
/// Medians of the MusicGen bench: Continuo's ms per step, the Python loop's, the memory floor's.
struct MusicgenBench {
    rust_ms: f64,
    python_ms: f64,
    floor_ms: f64,
}

fn bench_musicgen(root: &Path) -> Result<MusicgenBench> {
    let lib = setup(root)?;
    let py = musicgen_venv(root)?;
    let model = root
        .join("target")
        .join("bench-models")
        .join("musicgen-small-random");
    if !model.join("continuo.toml").is_file() {
        let _ = fs::remove_dir_all(&model);
        run(Command::new(&py)
            .arg(root.join("models/musicgen/export.py"))
            .args(["--small-random", "--out"])
            .arg(&model))?;
    }
    // The machine's noise (several percent from run to run) is as large as the difference
    // between the two loops, so each runs three times, alternating, and the medians are compared.
    let (mut rust_ms, mut python_ms, mut floor_ms) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=BENCH_ROUNDS {
        println!("round {round} of {BENCH_ROUNDS}");
        let rust = Command::new("cargo")
            .current_dir(root)
            .env("CONTINUO_ORT_LIBRARY", &lib)
            .env("CONTINUO_BENCH_MUSICGEN", &model)
            .args(["bench", "-q", "-p", "continuo", "--bench", "musicgen_steps"])
            .output()
            .context("running the Rust bench")?;
        let rust_out = String::from_utf8_lossy(&rust.stdout).to_string();
        print!("{rust_out}");
        if !rust.status.success() {
            eprint!("{}", String::from_utf8_lossy(&rust.stderr));
            bail!("the Rust bench failed");
        }
        let python = Command::new(&py)
            .arg(root.join("models/musicgen/ort_loop.py"))
            .arg("--bench")
            .arg(&model)
            .output()
            .context("running the Python loop")?;
        let python_out = String::from_utf8_lossy(&python.stdout).to_string();
        print!("{python_out}");
        if !python.status.success() {
            eprint!("{}", String::from_utf8_lossy(&python.stderr));
            bail!("the Python loop failed");
        }
        let (Some(r), Some(p), Some(f)) = (
            result_value(&rust_out, "rust_step_ms"),
            result_value(&python_out, "python_step_ms"),
            result_value(&rust_out, "floor_ms"),
        ) else {
            bail!("a bench printed no RESULT line");
        };
        rust_ms.push(r);
        python_ms.push(p);
        floor_ms.push(f);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let range = |v: &[f64]| format!("{:.1}-{:.1}", v[0], v[v.len() - 1]);
    let (r, p, f) = (
        median(&mut rust_ms),
        median(&mut python_ms),
        median(&mut floor_ms),
    );
    println!(
        "\nsummary, one thread, guidance (batch 2), same graphs, median of {BENCH_ROUNDS} alternating runs (range):\n  Continuo      {r:8.1} ms/step  {:6.2} steps/s  ({} ms)\n  Python loop   {p:8.1} ms/step  {:6.2} steps/s  ({} ms)  Continuo is {:.3}x as fast\n  memory floor  {f:8.1} ms/step  Continuo is {:.2}x the floor",
        1e3 / r,
        range(&rust_ms),
        1e3 / p,
        range(&python_ms),
        p / r,
        r / f
    );
    Ok(MusicgenBench {
        rust_ms: r,
        python_ms: p,
        floor_ms: f,
    })
}
