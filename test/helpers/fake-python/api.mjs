// The fake Validation API: `python -m modules.evaluation.validation.sandbox.validation_api`
// serving GET /health and GET /validate/active on ALPHACORE_VALIDATION_HTTP_HOST/PORT.
import http from 'node:http';
import { missingImport, record, relevantEnv, settings, sleep, version } from './common.mjs';

export async function runApi() {
  const host = process.env.ALPHACORE_VALIDATION_HTTP_HOST || '127.0.0.1';
  const port = Number(process.env.ALPHACORE_VALIDATION_HTTP_PORT || '8888');
  const s = settings();
  record('api-starts.jsonl', { host, port, cwd: process.cwd(), env: relevantEnv(), version: version(), mode: s.api ?? 'ok' });
  if (s.startDelaySeconds > 0) await sleep(s.startDelaySeconds * 1000);
  const missing = missingImport();
  if (missing) {
    console.error(`Traceback (most recent call last):\nModuleNotFoundError: No module named '${missing.replace(/-/g, '_')}' (fake python: not installed in ${process.env.VIRTUAL_ENV})`);
    process.exit(1);
  }
  if (s.api === 'crash') {
    console.error('fake validation api: crashing as told');
    process.exit(1);
  }
  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  http
    .createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/validate/active') {
        const busy = settings().busy;
        const active = Array.isArray(busy) ? busy.map((j) => (typeof j === 'object' ? j : { job_id: String(j), status: 'running', log_url: `/validate/${j}/log` })) : [];
        json(res, 200, { active });
      } else if (req.method === 'GET' && req.url === '/health') {
        json(res, 200, { status: 'healthy', sandbox_ready: false, token_ready: true, token_error: null, version: version(), timestamp: new Date().toISOString() });
      } else json(res, 404, { detail: 'Not Found' });
    })
    .on('error', (error) => {
      // uvicorn exits 1 when it cannot bind
      console.error(`ERROR: [Errno 98] error while attempting to bind on address ('${host}', ${port}): ${error.message}`);
      process.exit(1);
    })
    .listen(port, host, () => {
      record('api-ready.jsonl', { host, port });
      console.log(`INFO:     Uvicorn running on http://${host}:${port} (fake)`);
      if (s.apiCrashAfterSeconds > 0) {
        setTimeout(() => {
          console.error('fake validation api: crashing after serving, as told');
          process.exit(1);
        }, s.apiCrashAfterSeconds * 1000);
      }
    });
}
