//! Turning raw output bytes into text without breaking characters that straddle two chunks.

/// Decodes a byte stream to UTF-8 text chunk by chunk. An incomplete character at the end of
/// a chunk waits for the next one; invalid bytes become U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Chunker {
    pending: Vec<u8>,
}

impl Utf8Chunker {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut i = 0;
        while i < self.pending.len() {
            match std::str::from_utf8(&self.pending[i..]) {
                Ok(s) => {
                    out.push_str(s);
                    i = self.pending.len();
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[i..i + valid]).expect("checked valid"));
                    i += valid;
                    match e.error_len() {
                        Some(n) => {
                            out.push('\u{FFFD}');
                            i += n;
                        }
                        None => break, // incomplete character: wait for more bytes
                    }
                }
            }
        }
        self.pending.drain(..i);
        out
    }

    /// Whatever is left at the end of the stream.
    pub fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}

/// The output of one phase kept for its result (the agent and the node cap each stream).
#[derive(Debug, Default)]
pub struct PhaseOutput {
    pub stdout: String,
    pub stderr: String,
    pub output: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibyte_character_split_across_chunks_survives() {
        let text = "héllo → wörld 🎉";
        let bytes = text.as_bytes();
        for split in 0..bytes.len() {
            let mut c = Utf8Chunker::default();
            let mut got = c.push(&bytes[..split]);
            got += &c.push(&bytes[split..]);
            got += &c.finish();
            assert_eq!(got, text, "split at {split}");
        }
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut c = Utf8Chunker::default();
        let got = c.push(b"a\xffb\xc3") + &c.finish();
        assert_eq!(got, "a\u{FFFD}b\u{FFFD}");
    }
}
