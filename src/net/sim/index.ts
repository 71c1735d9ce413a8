/** The simulated network and virtual clock (DESIGN.md): the second implementation of the Clock and Transport ports, for the lab and swarm tests. */
export { SimClock, type SimRunOptions } from './clock.js';
export { SimNetwork, SimNode, type SimNetworkOptions, type SimNodeOptions } from './network.js';
export { HIGH_WATER as SIM_HIGH_WATER, MAX_PACKET as SIM_MAX_PACKET, WINDOW as SIM_WINDOW } from './stream.js';
export type { SimErrorCode } from './errors.js';
