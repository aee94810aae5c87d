// The recording drawn as a waveform: the WAV is fetched and its 16-bit PCM read here (the
// gateway records 16-bit stereo, caller left and bot/agent right), one peak per pixel column
// per channel; caller above the middle line, bot/agent below.

/** Reads a 16-bit PCM WAV: {rate, channels: [Float32Array of peaks source], seconds}. */
export function parseWav(buffer) {
  const view = new DataView(buffer);
  const tag = (at) => String.fromCharCode(...new Uint8Array(buffer, at, 4));
  if (buffer.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a WAV file');
  let format = null;
  let at = 12;
  while (at + 8 <= buffer.byteLength) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      format = {
        code: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data before its format');
      if (format.code !== 1 || format.bits !== 16) throw new Error('not 16-bit PCM');
      // A recording still being written may say more than is there.
      const bytes = Math.min(size, buffer.byteLength - body);
      const frames = Math.floor(bytes / (2 * format.channels));
      const channels = Array.from({ length: format.channels }, () => new Float32Array(frames));
      for (let f = 0; f < frames; f++) {
        for (let c = 0; c < format.channels; c++) {
          channels[c][f] = view.getInt16(body + 2 * (f * format.channels + c), true) / 32768;
        }
      }
      return { rate: format.rate, channels, seconds: frames / format.rate };
    }
    at = body + size + (size % 2);
  }
  throw new Error('no audio data in the WAV file');
}

/** The largest absolute sample of each of `columns` equal slices. */
export function peaks(samples, columns) {
  const out = new Float32Array(columns);
  const per = samples.length / columns;
  for (let c = 0; c < columns; c++) {
    let max = 0;
    const end = Math.min(samples.length, Math.floor((c + 1) * per));
    for (let i = Math.floor(c * per); i < end; i++) {
      const v = Math.abs(samples[i]);
      if (v > max) max = v;
    }
    out[c] = max;
  }
  return out;
}

/** Draws the two channels onto `canvas` at its displayed size. */
export function draw(canvas, wav) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, width, height);
  const mid = height / 2;
  const colors = ['#2f6fdb', '#2e9e6a'];
  const lanes = wav.channels.length > 1 ? [[0, -1], [1, 1]] : [[0, -1], [0, 1]];
  for (const [channel, direction] of lanes) {
    const column = peaks(wav.channels[channel], width);
    g.fillStyle = colors[wav.channels.length > 1 ? channel : 0];
    for (let x = 0; x < width; x++) {
      // Square root: quiet speech stays visible beside loud prompts.
      const bar = Math.max(ratio / 2, Math.sqrt(column[x]) * (mid - 2 * ratio));
      g.fillRect(x, direction < 0 ? mid - bar : mid, 1, bar);
    }
  }
  g.fillStyle = '#9aa5b1';
  g.fillRect(0, Math.floor(mid), width, Math.max(1, Math.floor(ratio / 2)));
  g.font = `${11 * ratio}px system-ui, sans-serif`;
  g.fillStyle = '#4a5563';
  g.fillText('Caller', 4 * ratio, 12 * ratio);
  if (wav.channels.length > 1) g.fillText('Bot / agent', 4 * ratio, height - 4 * ratio);
}
