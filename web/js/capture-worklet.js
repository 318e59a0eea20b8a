// AudioWorklet: collects the microphone's (mono) samples into ~40 ms Float32 chunks and posts
// them to the page, which sends them as pcm_f32le over the WebSocket.
/* global sampleRate, registerProcessor, AudioWorkletProcessor */

class VoxgateCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.size = Math.max(128, Math.round(sampleRate * 0.04));
    this.buf = new Float32Array(this.size);
    this.n = 0;
    this.running = true;
    this.port.onmessage = (e) => {
      if (e.data === 'stop') {
        if (this.n > 0) this.port.postMessage(this.buf.slice(0, this.n));
        this.running = false;
      }
    };
  }

  process(inputs) {
    if (!this.running) return false;
    const input = inputs[0];
    if (input && input.length > 0) {
      const a = input[0];
      const b = input.length > 1 ? input[1] : null;
      for (let i = 0; i < a.length; i += 1) {
        this.buf[this.n] = b ? (a[i] + b[i]) * 0.5 : a[i];
        this.n += 1;
        if (this.n === this.size) {
          const full = this.buf;
          this.port.postMessage(full, [full.buffer]);
          this.buf = new Float32Array(this.size);
          this.n = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('voxgate-capture', VoxgateCapture);
