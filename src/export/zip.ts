/**
 * A minimal ZIP writer: stored (uncompressed) entries, CRC-32, no ZIP64 (so under 4 GB), each
 * entry's data aligned to 64 bytes with padding in the local header's extra field — the
 * archive PyTorch's torch.save writes and torch.load reads.
 */
import { writeAll, writeFileAtomic } from '../core/atomic-write.js';
import { UserError } from '../core/tool.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const ALIGN = 64;
const DOS_DATE_1980 = 0x21; // 1980-01-01: fixed, so the same entries give the same bytes

/**
 * Writes `entries` to `file` as a stored ZIP archive, atomically (writeFileAtomic): a kill or a
 * full disk mid-write leaves the previous file, never a truncated archive.
 */
export function writeZip(file: string, entries: ZipEntry[]): void {
  const total = entries.reduce((n, e) => n + e.data.byteLength + 200, 0);
  if (total >= 0xffffffff) throw new UserError(`${file}: the archive would pass 4 GB; export safetensors instead (--export_format safetensors)`);
  writeFileAtomic(file, (fd) => writeEntries(fd, entries));
}

function writeEntries(fd: number, entries: ZipEntry[]): void {
  let offset = 0;
  const put = (b: Uint8Array) => {
    writeAll(fd, b);
    offset += b.byteLength;
  };
  const central: Buffer[] = [];
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    const start = offset;
    // Extra field: id 'FB' (0x4246) + length, padded so the data starts on a 64-byte boundary.
    const pad = (ALIGN - ((start + 30 + name.byteLength + 4) % ALIGN)) % ALIGN;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4246, 0);
    extra.writeUInt16LE(pad, 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(DOS_DATE_1980, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.byteLength, 18);
    local.writeUInt32LE(e.data.byteLength, 22);
    local.writeUInt16LE(name.byteLength, 26);
    local.writeUInt16LE(extra.byteLength, 28);
    put(local);
    put(name);
    put(extra);
    put(e.data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4); // made by
    c.writeUInt16LE(20, 6); // needed
    c.writeUInt16LE(0, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt16LE(0, 12);
    c.writeUInt16LE(DOS_DATE_1980, 14);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(e.data.byteLength, 20);
    c.writeUInt32LE(e.data.byteLength, 24);
    c.writeUInt16LE(name.byteLength, 28);
    c.writeUInt16LE(0, 30); // no extra field in the central directory
    c.writeUInt32LE(start, 42);
    central.push(c, name);
  }
  const cdStart = offset;
  for (const b of central) put(b);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(offset - cdStart, 12);
  end.writeUInt32LE(cdStart, 16);
  put(end);
}
