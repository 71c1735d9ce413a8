import type { HttpGet, HttpResponse } from '../../net/index.js';
import { TrackerError } from '../errors.js';
import { announceUrl, scrapeRequestUrl, scrapeUrl } from './http-url.js';
import { MAX_RESPONSE_BYTES, parseAnnounceResponse, parseScrapeResponse } from './http-response.js';
import type { AnnounceParams, AnnounceResult, RequestOptions, ScrapeFile, TrackerClient } from './types.js';

/*
 * An HTTP(S) tracker (BEP 3, 23, 7, 48): build the URL, GET it through the
 * injected HttpGet port, parse the bencoded body. No sockets here: the real
 * port is createHttpGet() in src/net/http.ts, tests pass a fake.
 */

export interface HttpTrackerComponents {
  readonly httpGet: HttpGet;
}

export interface HttpTrackerInit {
  /** Largest response body read. @default 1 MiB */
  readonly maxBytes?: number;
}

export class HttpTrackerClient implements TrackerClient {
  readonly url: string;
  /** BEP 48's scrape URL, or undefined when the announce URL has none. */
  readonly scrapeUrl: string | undefined;
  private readonly httpGet: HttpGet;
  private readonly maxBytes: number;

  constructor(url: string, components: HttpTrackerComponents, init: HttpTrackerInit = {}) {
    this.url = url;
    this.scrapeUrl = scrapeUrl(url);
    this.httpGet = components.httpGet;
    this.maxBytes = init.maxBytes ?? MAX_RESPONSE_BYTES;
  }

  async announce(params: AnnounceParams, options: RequestOptions = {}): Promise<AnnounceResult> {
    const res = await this.get(announceUrl(this.url, params), options);
    return parseAnnounceResponse(this.checkStatus(res), this.maxBytes);
  }

  async scrape(infoHashes: readonly Uint8Array[], options: RequestOptions = {}): Promise<ScrapeFile[]> {
    if (this.scrapeUrl === undefined) throw new TrackerError('bad-param', `${this.url} has no scrape URL (BEP 48: the path must end in /announce...)`);
    if (infoHashes.length === 0) return [];
    const res = await this.get(scrapeRequestUrl(this.scrapeUrl, infoHashes), options);
    return parseScrapeResponse(this.checkStatus(res), infoHashes, this.maxBytes);
  }

  /** The port may reject with anything; callers of a TrackerClient only ever see TrackerError. */
  private async get(url: string, options: RequestOptions): Promise<HttpResponse> {
    try {
      const res = await this.httpGet(url, { maxBytes: this.maxBytes, ...(options.signal !== undefined && { signal: options.signal }) });
      if (res.body.length > this.maxBytes) throw new TrackerError('malformed', `response of ${res.body.length} bytes exceeds the cap of ${this.maxBytes}`);
      return res;
    } catch (e) {
      if (e instanceof TrackerError) throw e;
      const code = e instanceof Error && 'code' in e ? e.code : undefined;
      const message = e instanceof Error ? e.message : String(e);
      if (code === 'timeout') throw new TrackerError('timeout', message);
      if (code === 'too-large') throw new TrackerError('malformed', message);
      throw new TrackerError('network', message);
    }
  }

  /**
   * Trackers often send their `failure reason` with a 4xx/5xx status, so a
   * body that parses wins; a non-200 with no usable body is a network error.
   */
  private checkStatus(res: HttpResponse): Uint8Array {
    if (res.status === 200) return res.body;
    try {
      parseAnnounceResponse(res.body, this.maxBytes);
    } catch (e) {
      if (e instanceof TrackerError && e.code === 'failure') throw e;
    }
    throw new TrackerError('network', `${this.url}: HTTP status ${res.status}`);
  }
}
