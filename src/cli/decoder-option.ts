// The --decoder option of the commands that build a network (train, describe).
import { DECODERS, type DecoderName } from '../model/networks/config.js';
import { type OptionSpec, type ParsedArgs, UsageError, optionValue } from './args.js';

/** The option, with the command's default said in the help. */
export function decoderOptionSpec(defaultText: string): OptionSpec {
  return {
    name: 'decoder',
    kind: 'value',
    valueName: 'NAME',
    description: `decoder after ASPP: ${DECODERS.join(', ')} (DeepLabv3+: the stride-4 features refine the ASPP output before the logits)`,
    defaultText,
  };
}

/** --decoder's value, checked; undefined when not given. */
export function decoderOption(args: ParsedArgs, command: string): DecoderName | undefined {
  const text = optionValue(args, 'decoder');
  if (text === undefined) return undefined;
  if (!(DECODERS as readonly string[]).includes(text)) throw new UsageError(`--decoder: '${text}' is not one of ${DECODERS.join(', ')}`, command);
  return text as DecoderName;
}
