/** I/O ports (DESIGN.md): the clock and the network, real implementations and the simulated ones (./sim: links with rate and latency on a virtual clock). */
export { ManualClock, realClock, type Clock, type Timer } from './clock.js';
export { bindUdp, type DatagramSocket, type Endpoint } from './datagram.js';
export { batchUdpStatus, bindBatchUdp, Info, INFO_WORDS, type BatchUdpOptions, type BatchUdpSocket, type BatchUdpStats, type BatchUdpStatus, type DatagramBatch } from './batch-udp.js';
export { seededRandom, systemRandom, type Random } from './random.js';
export { createHttpGet, HttpError, httpGet, type HttpErrorCode, type HttpGet, type HttpGetInit, type HttpGetOptions, type HttpResponse } from './http.js';
export { tcpTransport, type ConnectOptions, type StreamConnection, type StreamListener, type StreamTransport } from './stream.js';
export { SimClock, SimNetwork, SimNode, SIM_HIGH_WATER, SIM_MAX_PACKET, SIM_WINDOW, type SimErrorCode, type SimNetworkOptions, type SimNodeOptions, type SimRunOptions } from './sim/index.js';
