/** The process entry of the `sluice` command: run `main` with this process's arguments and exit with its code. */
import { main } from './main.ts';

process.exitCode = await main(process.argv);
