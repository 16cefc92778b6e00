import type { Principal } from './keys.js'

/** Who is reading: anonymous readers see only published articles whose time has come. */
export interface Viewer { publicOnly: boolean }

/** Who is writing, and the representation they last read (If-Match), if they sent one. */
export interface Write { actor: Principal, ifMatch?: string }
