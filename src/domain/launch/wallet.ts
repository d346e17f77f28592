import path from 'node:path';
import { shellQuote } from '../../core/envfile.js';
import { nearest } from '../../core/suggest.js';

/** What the wallet check may look at; tests pass temp dirs. */
export interface WalletFacts {
  exists(file: string): boolean;
  /** Entry names of a folder ([] when it cannot be read): the names to suggest. */
  listDir?(dir: string): string[];
}

/** Where bittensor keeps a wallet's public coldkey and a hotkey (btcli's layout). */
export function walletFiles(walletPath: string, walletName: string, hotkey: string): { coldkeypub: string; hotkey: string } {
  const wallet = path.join(walletPath, walletName);
  return { coldkeypub: path.join(wallet, 'coldkeypub.txt'), hotkey: path.join(wallet, 'hotkeys', hotkey) };
}

function didYouMean(word: string, dir: string, facts: WalletFacts): string {
  const names = facts.listDir?.(dir) ?? [];
  const near = nearest(word, names);
  if (near) return ` (did you mean ${near}?)`;
  return names.length > 0 && names.length <= 5 ? ` (${dir} holds: ${names.join(', ')})` : '';
}

/**
 * A typo in the wallet or hotkey name starts a validator that cannot load its keys and
 * crash-loops under PM2. Each problem names the path looked at and the fix.
 */
export function walletProblems(o: { walletPath: string; walletName: string; hotkey: string; walletPathFrom: string }, facts: WalletFacts): string[] {
  const files = walletFiles(o.walletPath, o.walletName, o.hotkey);
  const fix = `pass --wallet-path with the folder that holds your wallets (the wallet path ${o.walletPath} is ${o.walletPathFrom})`;
  const wallet = path.dirname(files.coldkeypub);
  if (!facts.exists(files.coldkeypub)) {
    const where = facts.exists(wallet) ? `${wallet} has no coldkeypub.txt` : `no wallet ${JSON.stringify(o.walletName)} in ${o.walletPath}${didYouMean(o.walletName, o.walletPath, facts)}`;
    return [
      `--wallet-name ${o.walletName}: ${where} (looked for ${files.coldkeypub}). Fix the name, ${fix}, ` +
        `or restore the public key: btcli wallet regen_coldkeypub --wallet.name ${shellQuote(o.walletName)} --wallet.path ${shellQuote(o.walletPath)}.`,
    ];
  }
  if (!facts.exists(files.hotkey)) {
    const hotkeys = path.dirname(files.hotkey);
    return [
      `--hotkey ${o.hotkey}: wallet ${o.walletName} has no such hotkey (looked for ${files.hotkey})${didYouMean(o.hotkey, hotkeys, facts)}. ` +
        `Fix the name, or create it: btcli wallet new_hotkey --wallet.name ${shellQuote(o.walletName)} --wallet.hotkey ${shellQuote(o.hotkey)} --wallet.path ${shellQuote(o.walletPath)}.`,
    ];
  }
  return [];
}
