//! Progress bars for long steps (drawn on stderr only when it is a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar with a message and a known number of steps.
pub fn bar(len: u64, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    let style =
        ProgressStyle::with_template("{msg:>28} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(msg.to_string());
    pb
}
