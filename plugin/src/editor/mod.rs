//! The egui panel: prompt, model folder, Generate / Stop, progress, every parameter, buffer
//! health. GUI thread only; it never waits for the worker.

use crate::bridge::status::Phase;
use crate::bridge::{PanelRequests, SharedStatus, WorkerCommand};
use crate::engine::export::takes_dir;
use crate::params::{clamp_prompt, ContinuoParams, MAX_PROMPT_BYTES};
use crossbeam_channel::Sender;
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    baseview::WindowSize, create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings,
    NiceEguiApp, RepaintNotifier,
};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The panel's state. Lives on the GUI thread.
pub struct Panel {
    params: Arc<ContinuoParams>,
    shared: Arc<SharedStatus>,
    requests: Arc<PanelRequests>,
    commands: Sender<WorkerCommand>,
    gui: Option<GuiContext>,
    /// The prompt as typed; written to the parameters on every change.
    prompt: String,
    prompt_note: Option<String>,
    /// The model folder field.
    model_dir: String,
}

/// Builds the editor. Not real-time safe.
pub fn create(
    params: Arc<ContinuoParams>,
    shared: Arc<SharedStatus>,
    requests: Arc<PanelRequests>,
    commands: Sender<WorkerCommand>,
) -> Option<EguiEditor<Panel>> {
    let (width, height) = *params.editor_size.read();
    let state = EguiEditorState::from_size(LogicalSize::new(width as f32, height as f32), 1.0);
    let settings = EguiNiceSettings::new()
        .with_tile("Continuo")
        .with_resize_hint(
            ResizeHint::resizable().with_min_logical_size(LogicalSize::new(720.0, 420.0)),
        );
    let prompt = params.prompt.read().clone();
    let model_dir = params.model_dir.read().clone();
    let panel = Panel {
        prompt,
        model_dir,
        params,
        shared,
        requests,
        commands,
        gui: None,
        prompt_note: None,
    };
    create_egui_editor(state, RepaintNotifier::new(), settings, panel)
}

impl NiceEguiApp for Panel {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        // The saved state may have changed since the last time the panel was open.
        self.prompt = self.params.prompt.read().clone();
        self.model_dir = self.params.model_dir.read().clone();
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(gui);
        Ok(())
    }

    fn resized(&mut self, new_size: WindowSize) {
        let w = new_size.logical.width.round().max(1.0) as u32;
        let h = new_size.logical.height.round().max(1.0) as u32;
        *self.params.editor_size.write() = (w, h);
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        // Keep repainting while something moves (progress, buffer health).
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading("Continuo");
            self.status_section(ui);
            ui.separator();
            ui.columns(2, |columns| {
                let left = &mut columns[0];
                self.prompt_section(left);
                left.separator();
                self.transport_section(left);
                left.separator();
                self.model_section(left, &setter);
                left.separator();
                self.health_section(left);
                self.params_section(&mut columns[1], &setter);
            });
        });
    }
}

impl Panel {
    fn status_section(&self, ui: &mut egui::Ui) {
        let text = self.shared.text.lock().clone();
        let phase = match self.shared.phase() {
            Phase::NoModel => "No model",
            Phase::LoadingModel => "Loading model",
            Phase::Ready => "Ready",
            Phase::Generating => "Generating",
            Phase::Playing => "Playing",
        };
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(phase).strong());
            if let Some(model) = &text.model {
                ui.label(format!("· {} ({})", model.name, model.family));
            }
        });
        if !text.message.is_empty() {
            ui.label(&text.message);
        }
        if let Some(error) = &text.error {
            ui.colored_label(egui::Color32::from_rgb(240, 110, 100), error);
        }
    }

    fn prompt_section(&mut self, ui: &mut egui::Ui) {
        ui.label("Prompt");
        let response = ui.add(
            egui::TextEdit::multiline(&mut self.prompt)
                .hint_text("dusty lo-fi keys, warm tape  (MusicGen: separate up to four prompts with | to blend them)")
                .desired_rows(2)
                .desired_width(f32::INFINITY),
        );
        if response.changed() {
            self.prompt_note = if clamp_prompt(&mut self.prompt) {
                Some(format!("The prompt was cut to {MAX_PROMPT_BYTES} bytes."))
            } else {
                None
            };
            *self.params.prompt.write() = self.prompt.clone();
        }
        if let Some(note) = &self.prompt_note {
            ui.small(note);
        }
        // The notes model knows a vocabulary of words: say which ones it took.
        let writes_notes = self.shared.model_family().is_some_and(|f| f.writes_notes());
        if writes_notes && !self.prompt.trim().is_empty() {
            let steering = crate::model::notes::prompt::read_prompt(&self.prompt);
            if !steering.understood.is_empty() {
                ui.colored_label(
                    egui::Color32::from_rgb(120, 200, 120),
                    format!("Understood: {}", steering.understood.join(", ")),
                );
            }
            if !steering.not_understood.is_empty() {
                ui.colored_label(
                    egui::Color32::from_rgb(200, 160, 100),
                    format!("Not understood: {}", steering.not_understood.join(", ")),
                );
            }
        }
    }

    fn model_section(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        ui.label("Model folder (empty: the bundled default model)");
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut self.model_dir)
                    .desired_width(ui.available_width() - 120.0),
            );
            if ui.button("Load").clicked() {
                self.load_model();
            }
            if ui.button("Default").clicked() {
                self.model_dir.clear();
                self.load_model();
            }
        });
        // The worker lists the bundled model folders when a model loads; no disk reads here.
        let found = self.shared.bundled_models.lock().clone();
        let mut picked = None;
        for path in found {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if ui
                .small_button(format!("Use bundled model “{name}”"))
                .clicked()
            {
                picked = Some(path);
            }
        }
        if let Some(path) = picked {
            self.model_dir = path.display().to_string();
            self.load_model();
        }
        self.suggested_sampling(ui, setter);
    }

    /// The loaded model's suggested sampling (its manifest's `[sampling]`), offered with one
    /// click when the controls differ from it.
    fn suggested_sampling(&self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let Some(model) = self.shared.text.lock().model.clone() else {
            return;
        };
        let s = model.sampling;
        let p = &self.params;
        let top_k = s.top_k.min(2048) as i32;
        let differs = (p.temperature.value() - s.temperature).abs() > 1e-3
            || p.top_k.value() != top_k
            || (p.top_p.value() - s.top_p).abs() > 1e-3
            || (p.guidance.value() - s.guidance).abs() > 1e-3;
        if !differs {
            return;
        }
        ui.horizontal(|ui| {
            ui.small(format!(
                "{} suggests temperature {:.2}, top-k {top_k}, top-p {:.2}, guidance {:.1}",
                model.name, s.temperature, s.top_p, s.guidance
            ));
            if ui.small_button("Use").clicked() {
                for (param, value) in [
                    (&p.temperature, s.temperature),
                    (&p.top_p, s.top_p),
                    (&p.guidance, s.guidance),
                ] {
                    setter.begin_set_parameter(param);
                    setter.set_parameter(param, value);
                    setter.end_set_parameter(param);
                }
                setter.begin_set_parameter(&p.top_k);
                setter.set_parameter(&p.top_k, top_k);
                setter.end_set_parameter(&p.top_k);
            }
        });
    }

    fn load_model(&mut self) {
        // The worker records the folder in the saved state once it has it.
        let _ = self
            .commands
            .try_send(WorkerCommand::LoadModel(PathBuf::from(
                self.model_dir.trim(),
            )));
    }

    fn transport_section(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if ui
                .button(egui::RichText::new("Generate").strong())
                .clicked()
            {
                self.requests.request_generate();
            }
            if ui.button("Stop").clicked() {
                self.requests.request_stop();
            }
            let seed = self.shared.text.lock().last_seed;
            if let Some(seed) = seed {
                ui.label(format!("last seed {seed}"));
            }
            let has_notes = self
                .shared
                .last_take
                .lock()
                .as_ref()
                .is_some_and(|t| !t.notes.is_empty());
            if ui
                .add_enabled(has_notes, egui::Button::new("Save MIDI"))
                .on_hover_text(format!(
                    "Save the last take's notes as a .mid file in {}",
                    takes_dir().display()
                ))
                .clicked()
            {
                let _ = self
                    .commands
                    .try_send(WorkerCommand::ExportMidi(takes_dir()));
            }
        });
        let phase = self.shared.phase();
        if matches!(phase, Phase::Generating | Phase::Playing) {
            let progress = self.shared.progress.load().clamp(0.0, 1.0);
            let speed = self.shared.speed_x_realtime.load();
            let eta = self.shared.eta_seconds.load();
            let label = if speed > 0.0 {
                format!(
                    "{:.0}% · {speed:.1}x real time · {eta:.1} s left",
                    progress * 100.0
                )
            } else {
                format!("{:.0}% · measuring speed …", progress * 100.0)
            };
            ui.add(egui::ProgressBar::new(progress).text(label));
        }
    }

    fn params_section(&self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let p = &self.params;
        egui::Grid::new("params")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                macro_rules! row {
                    ($label:expr, $param:expr) => {
                        ui.label($label);
                        ui.add(ParamSlider::for_param($param, setter).with_width(180.0));
                        ui.end_row();
                    };
                }
                row!("Mix", &p.mix);
                row!("Output gain", &p.output_gain);
                row!("Temperature", &p.temperature);
                row!("Top K", &p.top_k);
                row!("Top P", &p.top_p);
                row!("Guidance", &p.guidance);
                row!("Context (bars)", &p.context_bars);
                row!("Listen to", &p.listen);
                row!("Prompt 1 weight", &p.prompt_weight_1);
                row!("Prompt 2 weight", &p.prompt_weight_2);
                row!("Prompt 3 weight", &p.prompt_weight_3);
                row!("Prompt 4 weight", &p.prompt_weight_4);
                row!("Length (bars)", &p.length_bars);
                row!("Sync", &p.sync);
                row!("Loop", &p.loop_take);
                row!("Seed (0: new)", &p.seed);
                row!("Instrument", &p.voice);
                row!("Key lock", &p.key_lock);
                row!("Key follow", &p.key_follow);
                row!("Key", &p.key);
                row!("Scale", &p.scale);
                row!("Lowest note", &p.lowest_note);
                row!("Highest note", &p.highest_note);
                row!("Density", &p.density);
                row!("Add part", &p.add_part);
                row!("Bounce mode", &p.bounce_mode);
            });
    }

    fn health_section(&self, ui: &mut egui::Ui) {
        let rate = self.shared.host_rate_hz.load().max(1.0);
        let buffered = self.shared.num_buffered_frames.load(Ordering::Relaxed) as f32 / rate;
        let underruns = self.shared.num_underruns.load(Ordering::Relaxed);
        let dropped = self
            .shared
            .num_capture_dropped_frames
            .load(Ordering::Relaxed);
        ui.horizontal(|ui| {
            ui.label(format!("Buffer {buffered:.2} s"));
            let colour = if underruns == 0 {
                egui::Color32::from_rgb(120, 200, 120)
            } else {
                egui::Color32::from_rgb(240, 170, 80)
            };
            ui.colored_label(colour, format!("Underruns {underruns}"));
            if dropped > 0 {
                ui.colored_label(
                    egui::Color32::from_rgb(240, 170, 80),
                    format!("Capture dropped {dropped} frames"),
                );
            }
            let nonfinite = self
                .shared
                .num_nonfinite_input_samples
                .load(Ordering::Relaxed);
            if nonfinite > 0 {
                ui.label(format!(
                    "Input had {nonfinite} NaN/Inf samples (captured as silence)"
                ));
            }
            ui.label(format!("{:.1} kHz", rate / 1000.0));
        });
        if self.params.bounce_mode.value() {
            ui.colored_label(
                egui::Color32::from_rgb(240, 170, 80),
                "Bounce mode is on: the audio waits for the model. Switch it off to play live.",
            );
        }
    }
}
