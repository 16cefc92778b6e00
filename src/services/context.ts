import type { Conditions } from './etag.js'
import type { Principal } from './keys.js'

/** Who is reading: anonymous readers see only published articles whose time has come. */
export interface Viewer { publicOnly: boolean }

/** Who is writing, and the preconditions they sent (If-Match: the representation they last read), if any. */
export interface Write extends Conditions { actor: Principal }
