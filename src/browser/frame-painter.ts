// What segmentStream's loop (stream.ts) asks of the painter it makes for the model's device.

/** How the loop segments and draws one frame, on the model's device. */
export interface FramePainter {
  /** Segments the video's current frame and draws it, with its class colours, into the canvas; the frame's size. */
  paint(video: HTMLVideoElement): Promise<{ width: number; height: number }>;
  /** A frame failed with `e`: resolves where the loop may go on (a lost GPU device renewed), else rejects. */
  recover(e: unknown): Promise<void>;
  /** A frame was drawn: failures since are counted afresh. */
  drawn(): void;
  release(): void;
}
