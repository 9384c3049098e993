// The HTTP client on real loopback servers: redirects (303 becomes a GET), an abort mid-body, a silent
// server timing out, and a bounded read of an endless body.
import { describe, expect, it } from 'vitest';
import { loopbackServer } from '../../test/helpers.js';
import { HttpPool, HttpTimeoutError, readBounded, send } from './http.js';



describe('send', () => {
  it('follows a 303 with a GET and no body, and keeps credentials on the same origin', async () => {
    const seen: string[] = [];
    const url = await loopbackServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'} ${req.headers['content-length'] ?? '-'}`);
      if (req.url === '/start') return void res.writeHead(303, { location: '/done' }).end();
      res.writeHead(200).end('ok');
    });
    const pool = new HttpPool();
    const res = await send(`${url}/start`, { method: 'POST', body: Buffer.from('payload'), headers: { authorization: 'Bearer t', 'content-type': 'text/plain' }, pool });
    expect((await readBounded(res, 100)).toString()).toBe('ok');
    expect(res.url).toBe(`${url}/done`);
    expect(seen).toEqual(['POST /start Bearer t 7', 'GET /done Bearer t -']);
    pool.close();
  });

  it('stops following after the redirect limit and hands back the redirect', async () => {
    const url = await loopbackServer((_req, res) => void res.writeHead(302, { location: '/again' }).end());
    const pool = new HttpPool();
    const res = await send(`${url}/x`, { pool, maxRedirects: 2 });
    expect(res.status).toBe(302);
    await res.discard();
    pool.close();
  });

  it('aborts while the body streams', async () => {
    const url = await loopbackServer((_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(1024));
    });
    const pool = new HttpPool();
    const ac = new AbortController();
    const res = await send(url, { pool, signal: ac.signal });
    const reading = (async () => {
      for await (const _ of res.body) ac.abort();
    })();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    pool.close();
  });

  it('fails a silent server after the idle timeout', async () => {
    const url = await loopbackServer(() => undefined);
    const pool = new HttpPool();
    await expect(send(url, { pool, idleTimeoutMs: 200 })).rejects.toBeInstanceOf(HttpTimeoutError);
    pool.close();
  });
});
