//! Call recording to a stereo WAV (left: caller, right: gateway) that stays a valid file if the
//! process dies mid-call: audio is written in blocks of about a second, and after each block the
//! RIFF and data sizes in the header are rewritten to cover it. No fsync per block: the page
//! cache survives a killed process, and the kernel writes it out on its own schedule.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

const HEADER_LEN: u64 = 44;
const CHANNELS: u16 = 2;
const BYTES_PER_FRAME: u16 = 2 * CHANNELS;
/// Offset of the RIFF size field.
const RIFF_SIZE_AT: u64 = 4;

/// What a finished recording holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingInfo {
    /// The WAV file.
    pub path: PathBuf,
    /// Samples per channel.
    pub samples: u64,
    /// Length of the audio.
    pub duration: Duration,
}

/// Writes a call's two directions to a 16-bit stereo WAV, crash-safe up to the last block.
#[derive(Debug)]
pub struct StereoRecorder {
    /// `None` once finished, so `Drop` knows there is nothing left to flush.
    file: Option<File>,
    path: PathBuf,
    sample_rate: u32,
    pending: Vec<u8>,
    block_bytes: usize,
    data_bytes: u64,
    frames: u64,
}

impl StereoRecorder {
    /// Creates (or truncates) `path` and writes a header for an empty recording, so even a
    /// crash before the first block leaves a valid WAV.
    pub fn create(path: impl AsRef<Path>, sample_rate: u32) -> io::Result<Self> {
        if sample_rate == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sample rate 0 Hz",
            ));
        }
        let path = path.as_ref().to_path_buf();
        let mut file = File::create(&path)?;
        file.write_all(&wav_header(sample_rate, 0))?;
        let block_bytes = sample_rate as usize * usize::from(BYTES_PER_FRAME);
        Ok(StereoRecorder {
            file: Some(file),
            path,
            sample_rate,
            pending: Vec::with_capacity(block_bytes),
            block_bytes,
            data_bytes: 0,
            frames: 0,
        })
    }

    /// Appends audio of both directions; the shorter side is padded with silence. Writes to
    /// the file once about a second has gathered.
    pub fn write(&mut self, left: &[i16], right: &[i16]) -> io::Result<()> {
        let frames = left.len().max(right.len());
        for i in 0..frames {
            let l = left.get(i).copied().unwrap_or(0);
            let r = right.get(i).copied().unwrap_or(0);
            self.pending.extend_from_slice(&l.to_le_bytes());
            self.pending.extend_from_slice(&r.to_le_bytes());
        }
        self.frames += frames as u64;
        if self.pending.len() >= self.block_bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what is gathered and updates the header sizes to cover it.
    pub fn flush(&mut self) -> io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if self.pending.is_empty() {
            return Ok(());
        }
        let data_bytes = self.data_bytes + self.pending.len() as u64;
        if data_bytes > u64::from(u32::MAX) - (HEADER_LEN - 8) {
            return Err(io::Error::other(format!(
                "recording {} exceeds the 4 GiB WAV limit",
                self.path.display()
            )));
        }
        // Audio first, then the sizes: a kill in between leaves sizes that still fit the file.
        file.seek(SeekFrom::Start(HEADER_LEN + self.data_bytes))?;
        file.write_all(&self.pending)?;
        write_sizes(file, HEADER_LEN, data_bytes)?;
        self.data_bytes = data_bytes;
        self.pending.clear();
        Ok(())
    }

    /// Writes the rest, makes it durable and closes the file.
    pub fn finish(mut self) -> io::Result<RecordingInfo> {
        self.flush()?;
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        Ok(RecordingInfo {
            path: self.path.clone(),
            samples: self.frames,
            duration: Duration::from_secs_f64(self.frames as f64 / f64::from(self.sample_rate)),
        })
    }
}

impl Drop for StereoRecorder {
    /// A recorder dropped without `finish` (a call task that panicked) still saves what it had.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Canonical 44-byte header of a 16-bit stereo PCM WAV holding `data_bytes` of audio.
fn wav_header(sample_rate: u32, data_bytes: u32) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(data_bytes.saturating_add(36)).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&CHANNELS.to_le_bytes());
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&(sample_rate * u32::from(BYTES_PER_FRAME)).to_le_bytes());
    h[32..34].copy_from_slice(&BYTES_PER_FRAME.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

/// Sets the RIFF size and the size of a data chunk whose audio starts at `data_start`.
fn write_sizes(file: &mut File, data_start: u64, data_bytes: u64) -> io::Result<()> {
    let riff = u32::try_from(data_start - 8 + data_bytes).map_err(io::Error::other)?;
    let data = u32::try_from(data_bytes).map_err(io::Error::other)?;
    file.seek(SeekFrom::Start(RIFF_SIZE_AT))?;
    file.write_all(&riff.to_le_bytes())?;
    // The data chunk's size field sits just before its audio.
    file.seek(SeekFrom::Start(data_start - 4))?;
    file.write_all(&data.to_le_bytes())
}

/// Fixes the header sizes of a WAV whose data chunk runs to the end of the file (what a crash
/// leaves of a recording), trimming a partial last frame. Returns whether anything changed.
pub fn repair_wav(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref();
    let invalid = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {what}", path.display()),
        )
    };
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let file_len = file.metadata()?.len();
    let mut riff = [0u8; 12];
    file.read_exact(&mut riff)
        .map_err(|_| invalid("too short for a WAV header"))?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Err(invalid("not a RIFF/WAVE file"));
    }
    let declared_riff = u32::from_le_bytes([riff[4], riff[5], riff[6], riff[7]]);
    let mut block_align = 0u64;
    let mut pos = 12u64;
    let (data_start, declared_data) = loop {
        let mut chunk = [0u8; 8];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut chunk)
            .map_err(|_| invalid("no data chunk"))?;
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        if &chunk[0..4] == b"data" {
            break (pos + 8, size);
        }
        if &chunk[0..4] == b"fmt " {
            let mut fmt = [0u8; 14];
            file.read_exact(&mut fmt)
                .map_err(|_| invalid("truncated fmt chunk"))?;
            block_align = u64::from(u16::from_le_bytes([fmt[12], fmt[13]]));
        }
        // Chunks are padded to an even length.
        pos += 8 + u64::from(size) + u64::from(size % 2);
    };
    if block_align == 0 {
        return Err(invalid("no fmt chunk before the data"));
    }
    let max_data = u64::from(u32::MAX) - (data_start - 8);
    let data_bytes =
        ((file_len - data_start.min(file_len)) / block_align * block_align).min(max_data);
    let consistent = u64::from(declared_data) == data_bytes
        && u64::from(declared_riff) == data_start - 8 + data_bytes
        && file_len == data_start + data_bytes;
    if consistent {
        return Ok(false);
    }
    write_sizes(&mut file, data_start, data_bytes)?;
    file.set_len(data_start + data_bytes)?;
    file.sync_all()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(len: usize, start: i16) -> Vec<i16> {
        (0..len).map(|i| start.wrapping_add(i as i16)).collect()
    }

    fn read_all(path: &Path) -> (hound::WavSpec, Vec<i16>) {
        let mut reader = hound::WavReader::open(path).unwrap();
        let samples = reader.samples::<i16>().map(Result::unwrap).collect();
        (reader.spec(), samples)
    }

    #[test]
    fn finished_recording_holds_both_sides_padded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("call.wav");
        let mut rec = StereoRecorder::create(&path, 8000).unwrap();
        for i in 0..150 {
            // The gateway side is sometimes silent (empty) and sometimes shorter.
            let right = if i % 3 == 0 {
                Vec::new()
            } else {
                ramp(100, -50)
            };
            rec.write(&ramp(160, i as i16), &right).unwrap();
        }
        let info = rec.finish().unwrap();
        assert_eq!(info.samples, 150 * 160);
        assert_eq!(info.duration, Duration::from_secs(3));
        assert_eq!(info.path, path);
        let (spec, samples) = read_all(&path);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 8000, 16)
        );
        assert_eq!(samples.len(), 2 * 150 * 160);
        let frame = |f: usize| (samples[2 * f], samples[2 * f + 1]);
        assert_eq!(frame(0), (0, 0), "first block: right side silent");
        assert_eq!(frame(160), (1, -50));
        assert_eq!(frame(160 + 99), (100, 49));
        assert_eq!(frame(160 + 100), (101, 0), "padded after the shorter side");
    }

    #[test]
    fn a_killed_process_leaves_a_valid_wav_up_to_the_last_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("killed.wav");
        let mut rec = StereoRecorder::create(&path, 16000).unwrap();
        for _ in 0..125 {
            rec.write(&[1000; 320], &[-1000; 320]).unwrap(); // 2.5 s
        }
        // SIGKILL runs no destructor: what the file holds now is what survives.
        std::mem::forget(rec);
        let (spec, samples) = read_all(&path);
        assert_eq!(spec.sample_rate, 16000);
        assert_eq!(
            samples.len(),
            2 * 2 * 16000,
            "the two full blocks of one second each"
        );
        assert!(samples.chunks(2).all(|f| f == [1000, -1000]));
        assert!(!repair_wav(&path).unwrap(), "the header already matches");
    }

    #[test]
    fn an_explicit_flush_makes_everything_so_far_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flushed.wav");
        let mut rec = StereoRecorder::create(&path, 8000).unwrap();
        assert_eq!(
            read_all(&path).1.len(),
            0,
            "valid and empty straight after create"
        );
        rec.write(&[5; 4000], &[6; 4000]).unwrap();
        rec.flush().unwrap();
        std::mem::forget(rec);
        assert_eq!(read_all(&path).1.len(), 8000);
    }

    #[test]
    fn dropping_without_finish_saves_the_pending_audio() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dropped.wav");
        let mut rec = StereoRecorder::create(&path, 8000).unwrap();
        rec.write(&[1; 800], &[2; 800]).unwrap();
        drop(rec);
        assert_eq!(read_all(&path).1.len(), 1600);
    }

    #[test]
    fn repair_fixes_zero_sizes_and_trims_a_torn_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crashed.wav");
        // What a crash between the audio write and the header update can leave: sizes of zero.
        let mut bytes = wav_header(8000, 0).to_vec();
        for i in 0..1000i16 {
            bytes.extend_from_slice(&i.to_le_bytes());
            bytes.extend_from_slice(&(-i).to_le_bytes());
        }
        bytes.extend_from_slice(&[0xAB, 0xCD, 0xEF]); // half-written last frame
        std::fs::write(&path, &bytes).unwrap();
        assert!(repair_wav(&path).unwrap());
        let (_, samples) = read_all(&path);
        assert_eq!(samples.len(), 2000);
        assert_eq!((samples[1998], samples[1999]), (999, -999));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 44 + 4000);
        assert!(
            !repair_wav(&path).unwrap(),
            "repairing twice changes nothing"
        );
    }

    /// A crashed-recording image with an extra chunk between fmt and data.
    fn with_list_chunk(list: &[u8]) -> Vec<u8> {
        let mut bytes = wav_header(8000, 0)[..36].to_vec();
        bytes.extend_from_slice(b"LIST");
        bytes.extend_from_slice(&(list.len() as u32).to_le_bytes());
        bytes.extend_from_slice(list);
        if list.len() % 2 == 1 {
            bytes.push(0); // RIFF pads chunks to an even length
        }
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&[1, 0, 2, 0, 3, 0, 4, 0]);
        bytes
    }

    #[test]
    fn repair_finds_the_data_chunk_after_other_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.wav");
        std::fs::write(&path, with_list_chunk(b"abcdef")).unwrap();
        assert!(repair_wav(&path).unwrap());
        assert_eq!(read_all(&path).1, [1, 2, 3, 4]);
        // hound ignores the pad byte of odd chunks, so check that case on the bytes.
        std::fs::write(&path, with_list_chunk(b"abcde")).unwrap();
        assert!(repair_wav(&path).unwrap());
        let bytes = std::fs::read(&path).unwrap();
        let le32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(&bytes[50..54], b"data");
        assert_eq!(le32(54), 8, "data size");
        assert_eq!(le32(4), bytes.len() as u32 - 8, "RIFF size");
    }

    #[test]
    fn repair_refuses_what_is_not_a_wav() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.wav");
        std::fs::write(&path, b"RIFX....WAVEjunk").unwrap();
        let err = repair_wav(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("junk.wav"));
        std::fs::write(&path, b"RIF").unwrap();
        assert_eq!(
            repair_wav(&path).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut no_data = wav_header(8000, 0)[..36].to_vec();
        no_data.extend_from_slice(b"LIST\x00\x00\x00\x00");
        std::fs::write(&path, &no_data).unwrap();
        assert_eq!(
            repair_wav(&path).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
