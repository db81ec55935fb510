import type { AnyMailet } from '../api';
import { BOUNCE_MAILETS } from './bounce-mailets';
import { CORE_MAILETS } from './core-mailets';
import { HEADER_MAILETS } from './header-mailets';
import { RRT_MAILETS } from './rrt';
import { SECURITY_MAILETS } from './security-mailets';

/** The standard mailets (James names); areas add theirs here (e.g. RecipientRewriteTable). */
export const MAILETS: AnyMailet[] = [...CORE_MAILETS, ...HEADER_MAILETS, ...BOUNCE_MAILETS, ...SECURITY_MAILETS, ...RRT_MAILETS];
