// @saorsa-gossip/coordinator — coordinator adverts, bootstrap, peer cache, FIND_COORDINATOR, reflection.
export {
  ADVERT_LIMITS,
  ADVERT_SIGNING_DOMAIN,
  ADVERT_VERSION,
  COORDINATOR_TOPIC,
  createAdvert,
  decodeAdvert,
  DEFAULT_ADVERT_VALIDITY_MS,
  NAT_CLASSES,
  ROLES
} from './advert.js'
export type { AdvertInput, CoordinatorAdvert, DecodeAdvertOptions, NatClass, Role, SignedAdvert } from './advert.js'
export { AdvertCache, addressRange, baseScore } from './advert-cache.js'
export type { AdvertCacheInit, CachedAdvert, PutResult } from './advert-cache.js'
export { PeerCache, PEER_CACHE_FORMAT, PEER_CACHE_VERSION } from './peer-cache.js'
export type { PeerCacheEntry, PeerCacheInit } from './peer-cache.js'
export { COORDINATOR_PROTO, decodeCoordinatorMessage, encodeCoordinatorMessage, isCoordinatorFrame, MAX_FIND_TTL, MAX_REPLY_ADVERTS, QUERY_ID_BYTES } from './codec.js'
export type { CoordinatorMessage } from './codec.js'
export { DEFAULT_FIND_CONFIG, FindCoordinator } from './proto/find.js'
export type { FindCommand, FindConfig } from './proto/find.js'
export { hostPort, toMultiaddrs, withoutPeerSuffix } from './addr.js'
export { BOOTSTRAP_RETRY, BootstrapError, CoordinatorService } from './service.js'
export type { BootstrapResult, CoordinatorServiceComponents, CoordinatorServiceEvents, CoordinatorServiceInit } from './service.js'
