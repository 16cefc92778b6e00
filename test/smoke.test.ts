import t from 'tap'
import { build, upload, create } from './helper.js'

t.test('an article with a photo block is served resolved', async (t) => {
  const { app } = await build(t)
  const photo = await upload(app, { caption: 'Expo opens', credit: 'Xinhua' })
  t.match(photo, { id: String, width: 64, height: 48, mimeType: 'image/jpeg', caption: 'Expo opens', credit: 'Xinhua' })
  const section = await create(app, '/v1/sections', { name: 'Harbin Today' })
  const article = await create(app, '/v1/articles', {
    headline: 'More economic interactions',
    sectionId: section.id,
    body: [{ type: 'paragraph', text: 'One <script>x</script><b>bold</b>' }, { type: 'photo', photoId: photo.id }]
  })
  t.equal(article.body[0].text, 'One <b>bold</b>')
  t.match(article.body[1], { type: 'photo', caption: 'Expo opens', credit: 'Xinhua', width: 64, url: String })
  t.equal(article.status, 'draft')
  const file = await app.inject({ url: photo.url })
  t.equal(file.statusCode, 200)
  t.equal(file.headers['content-type'], 'image/jpeg')
})
