// The metadata_props of an ONNX file (ModelProto field 14, StringStringEntryProto {key = 1, value = 2}), read from
// its bytes with a minimal protobuf wire-format walk: onnxruntime-web does not expose custom metadata.
// Pure (no DOM).

const METADATA_PROPS = 14;

function reader(bytes) {
  let position = 0;
  const varint = () => {
    let value = 0, factor = 1, byte;
    do {
      if (position >= bytes.length) throw new Error("truncated protobuf varint");
      byte = bytes[position++];
      value += (byte & 0x7f) * factor;
      factor *= 128;
    } while (byte & 0x80);
    return value;
  };
  const skip = (wire) => {
    if (wire === 0) varint();
    else if (wire === 1) position += 8;
    else if (wire === 2) { const length = varint(); position += length; }
    else if (wire === 5) position += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  };
  return {
    done: () => position >= bytes.length,
    field: () => { const tag = varint(); return [Math.floor(tag / 8), tag & 7]; },
    bytes: () => { const n = varint(); const out = bytes.subarray(position, position + n); position += n; return out; },
    skip,
  };
}

/** {key: value} of every metadata entry of the ONNX model in `buffer` (ArrayBuffer or Uint8Array). */
export function onnxMetadata(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const text = new TextDecoder();
  const model = reader(bytes);
  const found = {};
  while (!model.done()) {
    const [number, wire] = model.field();
    if (number !== METADATA_PROPS || wire !== 2) { model.skip(wire); continue; }
    const entry = reader(model.bytes());
    let key = "", value = "";
    while (!entry.done()) {
      const [n, w] = entry.field();
      if (n === 1 && w === 2) key = text.decode(entry.bytes());
      else if (n === 2 && w === 2) value = text.decode(entry.bytes());
      else entry.skip(w);
    }
    found[key] = value;
  }
  return found;
}
