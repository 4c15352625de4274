// @ts-check
/**
 * What a listener hears, measured in the page: used by the browser tests (through
 * `window.rostrum.diagnostics`) and usable for a sound check.
 *
 * Method (docs in /work/shared/TESTING.md, seen working with Chromium): attach the track to a
 * muted Audio element (Chromium does not pull a remote WebRTC track into WebAudio otherwise),
 * feed `new MediaStream([track])` into `createMediaStreamSource` → AnalyserNode (fftSize 8192,
 * 5.9 Hz bins at 48 kHz), wait ~1.5 s, take the peak bin (refined by parabolic interpolation).
 */

/**
 * @typedef {object} Tone
 * @property {number | null} frequency dominant frequency in Hz, null when below `minDb` (silence)
 * @property {number} db level of the peak bin in dBFS (-Infinity for digital silence)
 */

/**
 * The dominant frequency of an audio track.
 * @param {MediaStreamTrack} track
 * @param {object} [options]
 * @param {number} [options.durationMs] how long to listen before reading the spectrum
 * @param {number} [options.fftSize]
 * @param {number} [options.minDb] a peak below this level counts as silence
 * @returns {Promise<Tone>}
 */
export async function dominantFrequency(track, { durationMs = 1500, fftSize = 8192, minDb = -75 } = {}) {
  const stream = new MediaStream([track]);
  const sink = new Audio();
  sink.muted = true;
  sink.srcObject = stream;
  sink.play().catch(() => {});
  const context = new AudioContext();
  try {
    await context.resume();
    const source = context.createMediaStreamSource(stream);
    const analyser = context.createAnalyser();
    analyser.fftSize = fftSize;
    const silent = context.createGain();
    silent.gain.value = 0; // keeps the graph pulled without playing anything
    source.connect(analyser).connect(silent).connect(context.destination);
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    return peakOf(analyser, context.sampleRate, minDb);
  } finally {
    sink.srcObject = null;
    await context.close();
  }
}

/**
 * The dominant frequency an analyser sees now (peak bin, refined by parabolic interpolation).
 * @param {AnalyserNode} analyser
 * @param {number} sampleRate
 * @param {number} [minDb] a peak below this level counts as silence
 * @returns {Tone}
 */
export function peakOf(analyser, sampleRate, minDb = -75) {
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let peak = 1; // skip DC
  for (let i = 2; i < bins.length - 1; i++) if (bins[i] > bins[peak]) peak = i;
  const db = bins[peak];
  if (!(db >= minDb)) return { frequency: null, db };
  // Parabolic interpolation between the neighbours of the peak bin (dB values).
  const [a, b, c] = [bins[peak - 1], bins[peak], bins[peak + 1]];
  const denominator = a - 2 * b + c;
  const offset = Number.isFinite(denominator) && denominator !== 0 ? (0.5 * (a - c)) / denominator : 0;
  const frequency = ((peak + Math.max(-0.5, Math.min(0.5, offset))) * sampleRate) / analyser.fftSize;
  return { frequency, db };
}

/**
 * What the listener hears from the mixer (all routes after their levels): the dominant
 * frequency of the mix, and the level and setting of every route.
 * @param {import("./mixer.js").AudioMixer} mixer
 * @param {{minDb?: number}} [options]
 */
export function mixerReport(mixer, { minDb = -75 } = {}) {
  const analyser = mixer.busAnalyser;
  return {
    webAudio: mixer.webAudio,
    choice: mixer.choice,
    mix: analyser ? peakOf(analyser, mixer.sampleRate, minDb) : { frequency: null, db: -Infinity },
    routes: mixer.levels(),
  };
}

/**
 * "Which frequencies are heard on every audio slot right now": listens to all audio slots of a
 * `MeetingClient` at once.
 * @param {import("./protocol.js").MeetingClient} client
 * @param {Parameters<typeof dominantFrequency>[1]} [options]
 * @returns {Promise<Array<{mid: string, participantId: string | null} & Tone>>}
 */
export async function frequenciesOnAudioSlots(client, options) {
  const slots = client.slots.filter((slot) => slot.kind === "audio" && slot.track);
  return Promise.all(
    slots.map(async (slot) => ({
      mid: slot.mid,
      participantId: slot.participantId,
      ...(await dominantFrequency(/** @type {MediaStreamTrack} */ (slot.track), options)),
    })),
  );
}
