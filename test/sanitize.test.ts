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
  // an address no reader should be sent to loses its link, as the URL fields refuse it: credentials, a host that
  // reads as another, an address no browser can follow
  for (const href of ['https://editor:secret@example.org/', 'https://example.org@evil.example/x', 'HTTP://u@example.org', 'http://%', 'https://exa mple.org/']) {
    t.equal(sanitizeInline(`see <a href="${href}">this</a>`), 'see <a>this</a>', href)
  }
  for (const href of ['https://example.org/a?b=1', '/world/x', '#notes', 'mailto:desk@example.org', 'https://example.org/@user']) {
    t.match(sanitizeInline(`see <a href="${href}">this</a>`), /^see <a href="[^"]+">this<\/a>$/, `${href} kept`)
  }
})

t.test('a < that starts no HTML tag is text, never a tag that swallows the sentence after it', async (t) => {
  const kept: [string, string][] = [
    // an HTML parser reads `<b then … <li@example.com>` as one <b> tag: the sentence was dropped and the rest made bold
    ['Prices rose if a<b then the market fell. Write to Li Wei <li@example.com> with tips.',
      'Prices rose if a&lt;b then the market fell. Write to Li Wei &lt;li@example.com&gt; with tips.'],
    ['if a<b then c', 'if a&lt;b then c'],
    ['x<y and y>z then', 'x&lt;y and y&gt;z then'],
    ['<Leader> said', '&lt;Leader&gt; said'],
    ['R&D <3 you', 'R&amp;D &lt;3 you'],
    ['an unclosed <!-- comment', 'an unclosed &lt;!-- comment'],
    ['<![CDATA[x]]> is text', '&lt;![CDATA[x]]&gt; is text']
  ]
  for (const [text, stored] of kept) t.equal(sanitizeInline(text), stored, text)
  // markup is still markup: an element's whole tag, a comment, a doctype, a processing instruction
  const markup: [string, string][] = [
    ['<b>bold</b>, <I>caps</I>, <a href="https://x.org/?a=1&b=2">a link</a>', '<b>bold</b>, <i>caps</i>, <a href="https://x.org/?a=1&amp;b=2">a link</a>'],
    ['<b\nclass="x" data-y=1>split</b>', '<b>split</b>'],
    ['<img src=x onerror=alert(1)>after<br/>', 'after'],
    ['<script>alert(1)</script>kept', 'kept'],
    ['<p>para</p><span class="a">s</span>', 'paras'],
    ['<!-- c -->x<!DOCTYPE html>y<?php echo 1 ?>z', 'xyz'],
    ['<b>unclosed', '<b>unclosed</b>']
  ]
  for (const [text, stored] of markup) t.equal(sanitizeInline(text), stored, text)
  t.equal(sanitizeInline('<!-- a -->b<!--c'), 'b&lt;!--c', 'after the last -->, a comment is text')
})
