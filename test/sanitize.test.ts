import t from 'tap'
import { sanitizeInline, parseInline } from '../src/services/sanitize.js'

t.test('text without markup skips the parser and comes out exactly as sanitize-html would give it', async (t) => {
  const plain = [
    'Plain text.', '  padded  ', 'it\'s "quoted"', 'tab\there\nnew line', 'Ünïcödé 哈尔滨 Россия', 'e\u0301 (NFD)',
    'a\u0000b', 'emoji 😀 text', 'back`tick {brace} [x] (y) * _ ~ = + \\ / |', '\u00a0nbsp\u00a0', '\u2028line', '', ' ',
    'x'.repeat(10_000), 'javascript:alert(1)', 'onerror=alert(1)', '"><', '\uE000\uE001'
  ]
  plain.forEach((text, i) => t.equal(sanitizeInline(text), parseInline(text), `sample ${i}`))
})

t.test('text with markup or entities is parsed', async (t) => {
  t.equal(sanitizeInline('<b>bold</b> <script>alert(1)</script>and <a href="javascript:x">link</a>'), '<b>bold</b> and <a>link</a>')
  t.equal(sanitizeInline('AT&T &amp; co'), 'AT&amp;T &amp; co')
  t.equal(sanitizeInline('1 < 2 > 0'), '1 &lt; 2 &gt; 0')
})
