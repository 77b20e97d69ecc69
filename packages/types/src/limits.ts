// Hard protocol limits (SPEC.md §3). A decoder rejects anything beyond them before doing other work.

/** Largest application payload one envelope may carry: 1 MiB. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024
/** Largest encoded envelope header (the signed part): 256 bytes; a v1 header is at most ~110 bytes. */
export const MAX_HEADER_BYTES = 256
/** Largest encoded envelope: payload limit plus 16 KiB for header, signature and signer key. */
export const MAX_ENVELOPE_BYTES = MAX_PAYLOAD_BYTES + 16 * 1024
/** Largest transport frame: an envelope plus 64 KiB of protocol wrapping. */
export const MAX_FRAME_BYTES = MAX_ENVELOPE_BYTES + 64 * 1024
/** Largest value of the per-origin sequence number and of timestamps: 2^53 − 1. */
export const MAX_SAFE_UINT = Number.MAX_SAFE_INTEGER
/** Default tolerance for a sender clock ahead of ours when checking freshness: 5 minutes. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60 * 1000
/** Default age after which a message is refused as stale: 10 minutes. */
export const DEFAULT_MAX_MESSAGE_AGE_MS = 10 * 60 * 1000
