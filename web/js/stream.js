// Microphone capture and the live WebSocket stream (/api/v1/stream, docs/streaming.md).
import { streamSocketArgs, isAuthEnabled } from './api.js';

/** Level of a chunk for a meter: RMS mapped from -60..0 dBFS to 0..1. */
export function levelOf(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i += 1) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  const db = rms > 0 ? 20 * Math.log10(rms) : -100;
  return { rms, db, level: Math.min(1, Math.max(0, (db + 60) / 60)) };
}

function micError(e) {
  const name = e && e.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return new Error('Microphone access was refused. Allow the microphone for this site and try again' +
      (window.isSecureContext ? '.' : ' (browsers allow it only over HTTPS or on localhost).'));
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return new Error('No microphone was found.');
  if (name === 'NotReadableError') return new Error('The microphone is in use by another application.');
  return new Error('The microphone could not be opened: ' + (e && e.message ? e.message : String(e)));
}

/**
 * Opens the microphone (no echo cancellation, noise suppression or AGC: the server does its own)
 * and calls onChunk(Float32Array) with mono samples at `sampleRate`.
 */
export async function openMic(onChunk) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error('This browser cannot record audio here' +
      (window.isSecureContext ? '.' : ': microphones need HTTPS or localhost.'));
  }
  // The context is made before the first await, while the click that started this still counts
  // as a user gesture (autoplay policy), so it runs rather than waiting suspended.
  let ctx = new AudioContext();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
    });
  } catch (e) {
    ctx.close();
    throw micError(e);
  }
  if (ctx.sampleRate > 48000 || ctx.sampleRate < 8000) {
    await ctx.close();
    ctx = new AudioContext({ sampleRate: 48000 });
  }
  try {
    await ctx.audioWorklet.addModule('/js/capture-worklet.js');
  } catch (e) {
    stream.getTracks().forEach((t) => t.stop());
    await ctx.close();
    throw new Error('The audio capture module could not be loaded: ' + (e && e.message ? e.message : e));
  }
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'voxgate-capture', {
    numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1,
    channelCountMode: 'explicit', channelInterpretation: 'speakers',
  });
  node.port.onmessage = (e) => onChunk(e.data);
  source.connect(node);
  node.connect(ctx.destination); // the node writes silence; being pulled keeps it running
  if (ctx.state === 'suspended') await ctx.resume();
  let closed = false;
  return {
    sampleRate: ctx.sampleRate,
    label: (stream.getAudioTracks()[0] && stream.getAudioTracks()[0].label) || 'microphone',
    async close() {
      if (closed) return;
      closed = true;
      try { node.port.postMessage('stop'); } catch { /* closed */ }
      stream.getTracks().forEach((t) => t.stop());
      try { source.disconnect(); node.disconnect(); } catch { /* already */ }
      node.port.onmessage = null;
      try { await ctx.close(); } catch { /* already */ }
    },
  };
}

function openSocket(withProtocols) {
  const { url, protocols } = streamSocketArgs();
  return new Promise((resolve, reject) => {
    let ws;
    try {
      ws = withProtocols ? new WebSocket(url, protocols) : new WebSocket(url);
    } catch (e) {
      reject(e);
      return;
    }
    ws.binaryType = 'arraybuffer';
    let settled = false;
    ws.onopen = () => { settled = true; resolve(ws); };
    ws.onerror = () => { /* followed by close */ };
    ws.onclose = (e) => {
      if (!settled) {
        settled = true;
        reject(new Error(isAuthEnabled()
          ? `The server refused the audio stream (WebSocket closed, code ${e.code}): is the key still valid?`
          : `The audio stream could not be opened (WebSocket closed, code ${e.code}).`));
      }
    };
  });
}

/**
 * One live session over the WebSocket: mic -> pcm_f32le -> server; events -> onEvent(msg).
 * new LiveStream({mode, userId, securityLevel, name, onEvent, onLevel, onSent, onEnd})
 *   start(): opens the mic and the socket and sends the start message.
 *   stop(): sends {"type":"stop"}, closes the mic and resolves with the `final` event (or null).
 *   abort(): closes everything at once.
 */
export class LiveStream {
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
    this.mic = null;
    this.final = null;
    this.samplesSent = 0;
    this.state = 'idle'; // idle | starting | live | stopping | ended
    this.endWaiters = [];
  }

  async start() {
    this.state = 'starting';
    this.mic = await openMic((chunk) => this.onChunk(chunk));
    try {
      try {
        this.ws = await openSocket(true);
      } catch (e) {
        // A server without subprotocol support refuses the handshake; dev mode needs no key.
        if (isAuthEnabled()) throw e;
        this.ws = await openSocket(false);
      }
    } catch (e) {
      await this.mic.close();
      this.mic = null;
      this.state = 'ended';
      throw e;
    }
    if (this.state !== 'starting') { this.abort(); return; }
    this.ws.onmessage = (e) => this.onMessage(e);
    this.ws.onclose = (e) => this.onClose(e);
    const start = {
      type: 'start', mode: this.opts.mode, encoding: 'pcm_f32le', sample_rate: this.mic.sampleRate,
      channels: 1,
    };
    if (this.opts.userId) start.user_id = this.opts.userId;
    if (this.opts.securityLevel) start.security_level = this.opts.securityLevel;
    if (this.opts.name) start.name = this.opts.name;
    this.ws.send(JSON.stringify(start));
    this.state = 'live';
  }

  get sampleRate() { return this.mic ? this.mic.sampleRate : 0; }
  /** Seconds of audio sent so far (the stream's audio clock, roughly). */
  get sentSeconds() { return this.mic && this.mic.sampleRate ? this.samplesSent / this.mic.sampleRate : 0; }

  onChunk(chunk) {
    if (this.opts.onLevel) this.opts.onLevel(levelOf(chunk));
    if (this.state !== 'live' || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    // The server paces itself by TCP; 2 MB queued in the browser means the link cannot keep up.
    if (this.ws.bufferedAmount > 2 * 1024 * 1024) return;
    this.ws.send(chunk.buffer.byteLength === chunk.length * 4 ? chunk.buffer : chunk.slice().buffer);
    this.samplesSent += chunk.length;
    if (this.opts.onSent) this.opts.onSent(this.sentSeconds);
  }

  onMessage(e) {
    if (typeof e.data !== 'string') return;
    let msg;
    try { msg = JSON.parse(e.data); } catch { return; }
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'final') this.final = msg;
    if (this.opts.onEvent) this.opts.onEvent(msg);
  }

  onClose(e) {
    const wasLive = this.state === 'live';
    this.state = 'ended';
    if (this.mic) { this.mic.close(); this.mic = null; }
    if (this.opts.onEnd) this.opts.onEnd({ final: this.final, code: e.code, reason: e.reason, unexpected: wasLive });
    for (const w of this.endWaiters) w(this.final);
    this.endWaiters = [];
  }

  /** Ends the audio and waits (up to timeoutMs) for the session's `final` event. */
  async stop(timeoutMs = 30000) {
    if (this.state === 'ended' || this.state === 'idle') return this.final;
    if (this.state === 'starting') { this.abort(); return null; }
    if (this.state === 'stopping') return new Promise((r) => this.endWaiters.push(r));
    this.state = 'stopping';
    if (this.mic) { await this.mic.close(); this.mic = null; }
    const ws = this.ws;
    const done = new Promise((resolve) => {
      this.endWaiters.push(resolve);
      setTimeout(() => resolve(this.final), timeoutMs);
    });
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'stop' }));
    const final = await done;
    if (ws && ws.readyState === WebSocket.OPEN) ws.close(1000, 'done');
    return final;
  }

  abort() {
    this.state = 'ended';
    if (this.mic) { this.mic.close(); this.mic = null; }
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) {
      this.ws.onclose = null;
      this.ws.close(1000, 'left the page');
    }
    for (const w of this.endWaiters) w(this.final);
    this.endWaiters = [];
  }
}
