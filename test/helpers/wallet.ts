import fs from 'node:fs';
import path from 'node:path';

/**
 * A bittensor wallet as btcli lays it out, enough for launch's check (coldkeypub.txt and
 * hotkeys/<name>): under `walletsDir` (a HOME's ~/.bittensor/wallets unless --wallet-path
 * says otherwise). The files hold placeholders: nothing here reads a key. Chown after.
 */
export function createWallet(walletsDir: string, name: string, hotkeys: readonly string[]): string {
  const wallet = path.join(walletsDir, name);
  fs.mkdirSync(path.join(wallet, 'hotkeys'), { recursive: true });
  fs.writeFileSync(path.join(wallet, 'coldkeypub.txt'), '{"ss58Address": "test"}\n');
  for (const hotkey of hotkeys) fs.writeFileSync(path.join(wallet, 'hotkeys', hotkey), '{"ss58Address": "test"}\n', { mode: 0o600 });
  return wallet;
}

/** The default wallets folder of a HOME. */
export const homeWallets = (home: string): string => path.join(home, '.bittensor', 'wallets');
