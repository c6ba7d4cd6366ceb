//! Progress on a terminal (stderr), nothing when stderr is not one.
use drydock_ops::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct LayerProgress {
    bar: ProgressBar,
}

impl LayerProgress {
    pub(crate) fn new(what: &'static str) -> LayerProgress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {prefix} layer {pos}/{len} {msg}")
        {
            bar.set_style(style);
        }
        bar.set_prefix(what);
        LayerProgress { bar }
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for LayerProgress {
    fn layer(&self, index: usize, total: usize, digest: Option<&drydock_core::Digest>) {
        self.bar.set_length(total as u64);
        self.bar.set_position(index as u64 + 1);
        self.bar.set_message(
            digest
                .map(|d| d.hex().get(..12).unwrap_or_default().to_owned())
                .unwrap_or_default(),
        );
        self.bar.tick();
    }
}
