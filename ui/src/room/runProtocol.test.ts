import { describe, expect, it } from "vitest";
import * as decoding from "lib0/decoding";
import { MESSAGE_TANDEM_RUN, decodeJsonMessage, encodeJsonMessage } from "./runProtocol";
import { relayUrl } from "./websocket";

describe("tandem-run framing", () => {
  it("is varUint(100) ++ varString(JSON)", () => {
    const msg = { type: "run_request", request_id: "q1", kind: "run", request: { language: "python", files: [{ content: "print('é😀')" }] } };
    const bytes = encodeJsonMessage(MESSAGE_TANDEM_RUN, msg);
    expect(bytes[0]).toBe(100);
    const dec = decoding.createDecoder(bytes);
    expect(decoding.readVarUint(dec)).toBe(100);
    const len = decoding.readVarUint(dec);
    expect(len).toBe(new TextEncoder().encode(JSON.stringify(msg)).length);
    expect(decodeJsonMessage(bytes)).toEqual({ type: 100, body: msg });
  });

  it("targets /yjs on the page's origin", () => {
    expect(relayUrl("https://tandem.example")).toBe("wss://tandem.example/yjs");
    expect(relayUrl("http://127.0.0.1:3340/")).toBe("ws://127.0.0.1:3340/yjs");
  });
});
