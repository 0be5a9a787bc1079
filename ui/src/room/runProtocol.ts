/**
 * The two Tandem message types that ride the y-websocket socket next to sync (0), awareness (1),
 * auth (2) and query-awareness (3). See docs/ui.md, "Runs and control over y-websocket".
 *
 * Each frame is `varUint(type) ++ varString(JSON)` in lib0 encoding, the same framing y-protocols
 * uses for auth's reason string, so the relay decodes it with the decoder it already has.
 */
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";

/** Run requests (client → relay) and run announcements and `RunEvent`s (relay → clients). */
export const MESSAGE_TANDEM_RUN = 100;
/** Policy (relay → client) and interviewer actions and invite requests (client → relay). */
export const MESSAGE_TANDEM_CONTROL = 101;
/**
 * The interview (relay/src/record.rs): `state` pushes (relay → client) and `call` / `reply`
 * pairs matched by `request_id`.
 */
export const MESSAGE_TANDEM_RECORD = 102;

export function encodeJsonMessage(type: number, value: unknown): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, type);
  encoding.writeVarString(enc, JSON.stringify(value));
  return encoding.toUint8Array(enc);
}

/** Reads the JSON body after the message type has been consumed; null when malformed. */
export function readJsonBody(decoder: decoding.Decoder): unknown {
  try {
    return JSON.parse(decoding.readVarString(decoder));
  } catch {
    return null;
  }
}

export function decodeJsonMessage(buf: Uint8Array): { type: number; body: unknown } {
  const dec = decoding.createDecoder(buf);
  const type = decoding.readVarUint(dec);
  return { type, body: readJsonBody(dec) };
}
