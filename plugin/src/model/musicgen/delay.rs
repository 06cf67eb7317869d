//! MusicGen's delay pattern: codebook `c` of every channel runs `c` steps behind the first, so at
//! step `t` the decoder writes frame `t - c` of codebook `c`. Positions before a codebook's first
//! frame and after its last hold the pad token. Stereo models interleave the channels' codebooks
//! (left 0, right 0, left 1, right 1, ...): both rows of a pair share a delay. Any thread.

/// The pattern of one sequence: which token each (row, position) must hold, or `None` where the
/// model chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayPattern {
    num_rows: usize,
    num_channels: usize,
    len: usize,
    /// `num_rows x len`, row-major: `Some(token)` where the token is fixed.
    fixed: Vec<Option<i64>>,
}

impl DelayPattern {
    /// `prompt` holds `num_rows` rows of equal length (the start token, then any audio prompt's
    /// codes); `len` is the whole sequence length (prompt plus new positions).
    pub fn new(prompt: &[Vec<i64>], num_channels: usize, len: usize, pad: i64) -> Self {
        let num_rows = prompt.len();
        let per_channel = num_rows / num_channels.max(1);
        let mut fixed = vec![None; num_rows * len];
        for (row, tokens) in prompt.iter().enumerate() {
            let delay = row / num_channels;
            for t in 0..len {
                let value = if t <= delay || t + per_channel >= len + 1 + delay {
                    Some(pad)
                } else if t - delay < tokens.len() {
                    Some(tokens[t - delay])
                } else {
                    None
                };
                fixed[row * len + t] = value;
            }
        }
        Self {
            num_rows,
            num_channels,
            len,
            fixed,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The token fixed at (row, position), if any.
    pub fn fixed(&self, row: usize, t: usize) -> Option<i64> {
        self.fixed[row * self.len + t]
    }

    /// The first position the model writes: where row 0 (no delay) is first free.
    pub fn first_free(&self) -> usize {
        (0..self.len)
            .find(|&t| self.fixed(0, t).is_none())
            .unwrap_or(self.len)
    }

    /// Frames (positions of the undelayed timeline) complete once positions `..num_positions`
    /// are written: frame `f` of the slowest codebook sits at position `f + 1 + max_delay`.
    pub fn num_complete_frames(&self, num_positions: usize) -> usize {
        let max_delay = self.num_rows / self.num_channels.max(1) - 1;
        num_positions.saturating_sub(1 + max_delay)
    }

    /// Codes of frame `frame` in row `row`, taken from the delayed sequence `seq` (row-major,
    /// rows of `stride` positions).
    pub fn frame_code(&self, seq: &[i64], stride: usize, row: usize, frame: usize) -> i64 {
        let delay = row / self.num_channels;
        seq[row * stride + frame + 1 + delay]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: i64 = 99;

    fn rows(p: &DelayPattern) -> Vec<Vec<i64>> {
        (0..p.num_rows)
            .map(|r| (0..p.len()).map(|t| p.fixed(r, t).unwrap_or(-1)).collect())
            .collect()
    }

    #[test]
    fn text_only_mono_matches_musicgens_docstring() {
        // transformers' build_delay_pattern_mask docstring: 4 codebooks, length 8.
        let p = DelayPattern::new(&vec![vec![P]; 4], 1, 8, P);
        assert_eq!(
            rows(&p),
            vec![
                vec![P, -1, -1, -1, -1, P, P, P],
                vec![P, P, -1, -1, -1, -1, P, P],
                vec![P, P, P, -1, -1, -1, -1, P],
                vec![P, P, P, P, -1, -1, -1, -1],
            ]
        );
        assert_eq!(p.first_free(), 1);
        assert_eq!(p.num_complete_frames(8), 4);
    }

    #[test]
    fn a_prompt_is_laid_out_delayed() {
        let prompt = vec![vec![P, 1, 2], vec![P, 3, 4], vec![P, 5, 6], vec![P, 7, 8]];
        let p = DelayPattern::new(&prompt, 1, 8, P);
        assert_eq!(
            rows(&p),
            vec![
                vec![P, 1, 2, -1, -1, P, P, P],
                vec![P, P, 3, 4, -1, -1, P, P],
                vec![P, P, P, 5, 6, -1, -1, P],
                vec![P, P, P, P, 7, 8, -1, -1],
            ]
        );
        assert_eq!(p.first_free(), 3);
    }

    #[test]
    fn stereo_pairs_share_a_delay() {
        let p = DelayPattern::new(&vec![vec![P]; 4], 2, 5, P);
        assert_eq!(
            rows(&p),
            vec![
                vec![P, -1, -1, -1, P],
                vec![P, -1, -1, -1, P],
                vec![P, P, -1, -1, -1],
                vec![P, P, -1, -1, -1],
            ]
        );
        assert_eq!(p.num_complete_frames(5), 3);
    }
}
