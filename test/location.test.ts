import t from 'tap'
import zlib from 'node:zlib'
import { withoutLocation } from '../src/services/location.js'

/** A JPEG's start and one APP1 segment holding an XMP packet (no image data is needed to walk the segments). */
function jpegWithXmp (packet: string): Buffer {
  const payload = Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(packet, 'latin1')])
  const length = Buffer.alloc(2)
  length.writeUInt16BE(payload.length + 2)
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1]), length, payload, Buffer.from([0xff, 0xda, 0x00, 0x02, 0xff, 0xd9])])
}
const packetOf = (jpeg: Buffer) => jpeg.toString('latin1', 4 + 2 + 29, jpeg.length - 6)

t.test('XMP: every GPS property blanked in place, attributes and elements, and nothing else', async (t) => {
  const packet = '<rdf:Description exif:GPSLatitude="45,45.28N" exif:GPSLongitude = \'126,38.48E\' photoshop:City="Harbin" ' +
    'note="a :GPS word">' +
    '<exif:GPSAltitude>142/1</exif:GPSAltitude><Iptc4xmpExt:GPSLatitude><rdf:Seq><rdf:li>45.7</rdf:li></rdf:Seq></Iptc4xmpExt:GPSLatitude>' +
    '<exif:GPSVersionID/><dc:title>Ice :GPS festival</dc:title></rdf:Description>'
  const jpeg = jpegWithXmp(packet)
  const { data, cleared } = withoutLocation(jpeg, {})
  t.ok(cleared)
  t.equal(data.length, jpegWithXmp(packet).length, 'the same length')
  const after = packetOf(data)
  for (const gone of ['45,45.28N', '126,38.48E', '142/1', '45.7']) t.notOk(after.includes(gone), `${gone} is gone`)
  for (const kept of ['photoshop:City="Harbin"', 'note="a :GPS word"', '<exif:GPSVersionID/>', '<dc:title>Ice :GPS festival</dc:title>', '</exif:GPSAltitude>', '</Iptc4xmpExt:GPSLatitude>']) {
    t.ok(after.includes(kept), `${kept} stays`)
  }
  t.match(after, /exif:GPSLatitude=" {9}"/, 'the value is spaces, in its quotes')
  t.notOk(withoutLocation(jpegWithXmp('<x photoshop:City="Harbin"/>'), {}).cleared, 'a packet without a position is left as it is')
})

t.test('XMP: a property left open blanks the rest; a hostile packet is read in one pass', async (t) => {
  const open = packetOf(withoutLocation(jpegWithXmp('<d exif:GPSLatitude="45,45 and the rest'), {}).data)
  t.equal(open, '<d exif:GPSLatitude="' + ' '.repeat('45,45 and the rest'.length))
  const element = packetOf(withoutLocation(jpegWithXmp('<exif:GPSLatitude>45,45 and no end'), {}).data)
  t.equal(element, '<exif:GPSLatitude>' + ' '.repeat('45,45 and no end'.length))
  // 60,000 letters, then 400 property names left open: a regular expression backtracked over the letters for each
  const hostile = 'a'.repeat(60_000) + '<a:GPSx '.repeat(400) + 'b:GPS="1" '
  const { data } = withoutLocation(jpegWithXmp(hostile), {})
  t.equal(packetOf(data).length, hostile.length, 'read through, the same length')
  t.notOk(packetOf(data).includes('b:GPS="1"'), 'and the property after them blanked')
})

t.test('PNG: an XMP chunk holding a position is left out, as is one that inflates past 16 MiB', async (t) => {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length)
    head.write(type, 4, 'latin1')
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])))
    return Buffer.concat([head, data, crc])
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const ihdr = chunk('IHDR', Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]))
  const iend = chunk('IEND', Buffer.alloc(0))
  const xmp = (text: Buffer, compressed: boolean) => chunk('zTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0', 'latin1'), compressed ? zlib.deflateSync(text) : text]))
  const located = Buffer.concat([signature, ihdr, xmp(Buffer.from('<d exif:GPSLatitude="45,45N"/>'), true), iend])
  const { data, cleared } = withoutLocation(located, {})
  t.ok(cleared)
  t.same(data, Buffer.concat([signature, ihdr, iend]), 'the chunk left out, the rest as it was')
  // 32 MiB of spaces compress to ~32 KiB: not inflated past 16 MiB, and left out unread
  const bomb = Buffer.concat([signature, ihdr, xmp(Buffer.alloc(32 * 1024 * 1024, 0x20), true), iend])
  t.ok(bomb.length < 100_000, `a ${bomb.length}-byte file`)
  t.same(withoutLocation(bomb, {}).data, Buffer.concat([signature, ihdr, iend]), 'a chunk that would inflate too far is left out')
  const plain = Buffer.concat([signature, ihdr, xmp(Buffer.from('<d photoshop:City="Harbin"/>'), true), iend])
  t.notOk(withoutLocation(plain, {}).cleared, 'an XMP chunk without a position stays')
  // an IPTC raw profile is no XMP: a position libvips read from XMP this code did not see still refuses the upload
  const iptc = Buffer.from('\x1c\x02\x5a\x00\x06Harbin', 'latin1')
  const profile = chunk('tEXt', Buffer.from(`Raw profile type iptc\0\niptc\n${String(iptc.length).padStart(8)}\n${iptc.toString('hex')}\n`, 'latin1'))
  const withIptc = Buffer.concat([signature, ihdr, profile, iend])
  t.notOk(withoutLocation(Buffer.from(withIptc), {}).cleared, 'an IPTC profile (a city, no coordinates) stays')
  t.throws(() => withoutLocation(Buffer.from(withIptc), { xmp: Buffer.from('<d exif:GPSLatitude="45,45N"/>') }), /GPS position/,
    'XMP with a position that is not in the file as seen: refused, not taken for gone')
})
