//! Removing the core-module exports nothing in a component can reach,
//! before it is compiled.
//!
//! A component made by dynamic linking (componentize-py, `wasm-tools
//! component link`) instantiates shared libraries that export every symbol
//! they define: the example's Python component carries 4,442 core exports,
//! of which 2,016 are imported by another of its modules or aliased by the
//! component. wasmtime interns every export name, maps it, and gives every
//! exported function an entry trampoline, at each load of the compiled
//! component: the unused ones cost every render.
//!
//! A core module's exports are reachable only by the component that
//! instantiates it, through two doors: an instantiation argument (another
//! module's import names the instance, and the import's field names the
//! export) and `alias core export`. This pass keeps exactly the names
//! passing through those doors and copies every other byte as it is. A
//! component that lets a core module through any other door (imports,
//! exports or aliases of modules, an inner component aliasing an outer
//! module), an export that is not valid, or anything it cannot parse is
//! left untouched, for wasmtime to compile or reject as given.

use std::collections::HashSet;
use std::ops::Range;
use wasmparser::{
    ComponentAlias, ComponentExternalKind, ComponentOuterAliasKind, ComponentTypeRef, ExternalKind,
    Instance, Parser, Payload, TypeRef,
};

/// Part of the compile cache's key: a change to what this pass does must
/// not load entries compiled by the previous one.
pub const REVISION: &str = "prune-core-exports 1";

/// `bytes` without the core exports nothing can reach, or `None` when there
/// are none to remove or the component is outside what this pass handles.
pub fn prune(bytes: &[u8]) -> Option<Vec<u8>> {
    let survey = Survey::read(bytes).ok()??;
    let reached = survey.reached();
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..8)?);
    let mut changed = false;
    for section in &survey.sections {
        let kept = section.module.and_then(|m| {
            let module = &survey.modules[m];
            module.without_unreached(bytes, &reached[m])
        });
        match kept {
            Some(module) => {
                changed = true;
                out.push(MODULE_SECTION);
                push_u32(&mut out, u32::try_from(module.len()).ok()?);
                out.extend_from_slice(&module);
            }
            None => out.extend_from_slice(bytes.get(section.raw.clone())?),
        }
    }
    changed.then_some(out)
}

/// The component section id of a core module.
const MODULE_SECTION: u8 = 1;
/// The core module section id of exports.
const EXPORT_SECTION: u8 = 7;

/// What the pass needs to know of a component: its top-level sections,
/// its core modules, and how they are instantiated and aliased.
#[derive(Default)]
struct Survey<'a> {
    /// Each top-level section: its bytes with header, and the module it
    /// holds, if it is a core module.
    sections: Vec<Section>,
    modules: Vec<Module<'a>>,
    /// Each core instance: its instantiation, or `None` for an instance
    /// made of exports.
    instances: Vec<Option<Instantiation<'a>>>,
    /// `alias core export`: (instance, name).
    aliases: Vec<(u32, &'a str)>,
}

/// A module instantiated with arguments (name, instance).
type Instantiation<'a> = (usize, Vec<(&'a str, u32)>);

struct Section {
    raw: Range<usize>,
    module: Option<usize>,
}

/// A core module: where its sections are, what it imports, and each
/// export's name and bytes.
#[derive(Default)]
struct Module<'a> {
    header: Range<usize>,
    /// (id, bytes with header) of each section.
    sections: Vec<(u8, Range<usize>)>,
    /// (module, field) of each import.
    imports: Vec<(&'a str, &'a str)>,
    exports: Vec<(&'a str, Range<usize>)>,
}

/// An error for a component this pass leaves alone.
struct Unsupported;

impl From<wasmparser::BinaryReaderError> for Unsupported {
    fn from(_: wasmparser::BinaryReaderError) -> Self {
        Unsupported
    }
}

impl<'a> Survey<'a> {
    /// Reads the component; `Ok(None)` for a core module.
    fn read(bytes: &'a [u8]) -> Result<Option<Survey<'a>>, Unsupported> {
        let mut survey = Survey::default();
        let mut payloads = Parser::new(0).parse_all(bytes);
        let mut start = 8;
        while let Some(payload) = payloads.next() {
            let payload = payload?;
            match &payload {
                Payload::Version { encoding, .. } => {
                    if *encoding != wasmparser::Encoding::Component {
                        return Ok(None);
                    }
                    continue;
                }
                Payload::End(_) => break,
                Payload::ModuleSection {
                    unchecked_range, ..
                } => {
                    let module = Module::read(&mut payloads, unchecked_range.start)?;
                    survey.sections.push(Section {
                        raw: start..unchecked_range.end,
                        module: Some(survey.modules.len()),
                    });
                    survey.modules.push(module);
                    start = unchecked_range.end;
                    continue;
                }
                Payload::ComponentSection {
                    unchecked_range, ..
                } => {
                    check_inner_component(&mut payloads)?;
                    survey.sections.push(Section {
                        raw: start..unchecked_range.end,
                        module: None,
                    });
                    start = unchecked_range.end;
                    continue;
                }
                _ => survey.note(&payload)?,
            }
            let (_, range) = payload.as_section().ok_or(Unsupported)?;
            survey.sections.push(Section {
                raw: start..range.end,
                module: None,
            });
            start = range.end;
        }
        if start != bytes.len() {
            return Err(Unsupported);
        }
        Ok(Some(survey))
    }

    /// Records what a top-level section says of core modules and instances.
    fn note(&mut self, payload: &Payload<'a>) -> Result<(), Unsupported> {
        match payload {
            Payload::InstanceSection(reader) => {
                for instance in reader.clone() {
                    self.instances.push(match instance? {
                        Instance::Instantiate { module_index, args } => {
                            let args = args.iter().map(|a| (a.name, a.index)).collect();
                            Some((module_index as usize, args))
                        }
                        Instance::FromExports(_) => None,
                    });
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader.clone() {
                    match alias? {
                        ComponentAlias::CoreInstanceExport {
                            instance_index,
                            name,
                            ..
                        } => self.aliases.push((instance_index, name)),
                        ComponentAlias::InstanceExport { kind, .. } => module_free(kind)?,
                        ComponentAlias::Outer {
                            kind: ComponentOuterAliasKind::CoreModule,
                            ..
                        } => return Err(Unsupported),
                        ComponentAlias::Outer { .. } => {}
                    }
                }
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader.clone() {
                    if let ComponentTypeRef::Module(_) = import?.ty {
                        return Err(Unsupported);
                    }
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader.clone() {
                    module_free(export?.kind)?;
                }
            }
            Payload::ComponentInstanceSection(reader) => {
                for instance in reader.clone() {
                    if let wasmparser::ComponentInstance::Instantiate { args, .. } = instance? {
                        for arg in &args {
                            module_free(arg.kind)?;
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// For each module, the names of its exports some instance of it has
    /// reached through an import of another module or an alias.
    fn reached(&self) -> Vec<HashSet<&'a str>> {
        let mut reached = vec![HashSet::new(); self.modules.len()];
        let module_of = |instance: u32| {
            self.instances
                .get(instance as usize)
                .and_then(|i| i.as_ref())
                .map(|(module, _)| *module)
                .filter(|m| *m < self.modules.len())
        };
        for &(instance, name) in &self.aliases {
            if let Some(m) = module_of(instance) {
                reached[m].insert(name);
            }
        }
        for (importer, args) in self.instances.iter().flatten() {
            let Some(importer) = self.modules.get(*importer) else {
                continue;
            };
            for &(arg, instance) in args {
                let Some(m) = module_of(instance) else {
                    continue;
                };
                let fields = importer.imports.iter().filter(|(module, _)| *module == arg);
                reached[m].extend(fields.map(|(_, field)| *field));
            }
        }
        reached
    }
}

/// Refuses an item kind that would let a core module out (or in) other
/// than by instantiation.
fn module_free(kind: ComponentExternalKind) -> Result<(), Unsupported> {
    match kind {
        ComponentExternalKind::Module => Err(Unsupported),
        _ => Ok(()),
    }
}

/// Walks an inner component to its end: refused if it (or a component in
/// it) aliases an outer core module, the one way it can reach one.
fn check_inner_component<'a>(
    payloads: &mut impl Iterator<Item = wasmparser::Result<Payload<'a>>>,
) -> Result<(), Unsupported> {
    let mut depth = 1;
    for payload in payloads {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return Ok(());
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader {
                    if let ComponentAlias::Outer {
                        kind: ComponentOuterAliasKind::CoreModule,
                        ..
                    } = alias?
                    {
                        return Err(Unsupported);
                    }
                }
            }
            _ => {}
        }
    }
    Err(Unsupported)
}

impl<'a> Module<'a> {
    /// Reads a core module's payloads, up to its end, from `payloads`.
    /// Its exports must be valid: unique names, indices in range.
    fn read(
        payloads: &mut impl Iterator<Item = wasmparser::Result<Payload<'a>>>,
        start: usize,
    ) -> Result<Module<'a>, Unsupported> {
        let mut module = Module {
            header: start..start + 8,
            ..Module::default()
        };
        let mut counts = Counts::default();
        let mut at = start + 8;
        for payload in payloads {
            let payload = payload?;
            match &payload {
                Payload::End(_) => {
                    counts.check(&module)?;
                    return Ok(module);
                }
                Payload::ImportSection(reader) => {
                    for import in reader.clone().into_imports() {
                        let import = import?;
                        counts.import(import.ty);
                        module.imports.push((import.module, import.name));
                    }
                }
                Payload::ExportSection(reader) => {
                    let mut entries = reader.clone().into_iter_with_offsets().peekable();
                    while let Some(entry) = entries.next() {
                        let (offset, export) = entry?;
                        let end = match entries.peek() {
                            Some(Ok((next, _))) => *next,
                            _ => reader.range().end,
                        };
                        counts.export(export.kind, export.index)?;
                        module.exports.push((export.name, offset..end));
                    }
                }
                _ => counts.define(&payload),
            }
            if let Some((id, range)) = payload.as_section() {
                module.sections.push((id, at..range.end));
                at = range.end;
            }
        }
        Err(Unsupported)
    }

    /// The module's bytes with only the `reached` exports, or `None` when
    /// it keeps them all.
    fn without_unreached(&self, bytes: &[u8], reached: &HashSet<&str>) -> Option<Vec<u8>> {
        let kept: Vec<_> = self
            .exports
            .iter()
            .filter(|(name, _)| reached.contains(name))
            .collect();
        if kept.len() == self.exports.len() {
            return None;
        }
        let mut out = bytes.get(self.header.clone())?.to_vec();
        for (id, raw) in &self.sections {
            if *id != EXPORT_SECTION {
                out.extend_from_slice(bytes.get(raw.clone())?);
                continue;
            }
            let mut section = Vec::new();
            push_u32(&mut section, u32::try_from(kept.len()).ok()?);
            for (_, entry) in &kept {
                section.extend_from_slice(bytes.get(entry.clone())?);
            }
            out.push(EXPORT_SECTION);
            push_u32(&mut out, u32::try_from(section.len()).ok()?);
            out.extend_from_slice(&section);
        }
        Some(out)
    }
}

/// How many items of each kind a module has, to check its exports: an
/// export this pass removes is not there for wasmtime to reject.
#[derive(Default)]
struct Counts {
    funcs: u64,
    tables: u64,
    memories: u64,
    globals: u64,
    tags: u64,
    exports: Vec<(ExternalKind, u32)>,
}

impl Counts {
    fn import(&mut self, ty: TypeRef) {
        match ty {
            TypeRef::Func(_) | TypeRef::FuncExact(_) => self.funcs += 1,
            TypeRef::Table(_) => self.tables += 1,
            TypeRef::Memory(_) => self.memories += 1,
            TypeRef::Global(_) => self.globals += 1,
            TypeRef::Tag(_) => self.tags += 1,
        }
    }

    fn define(&mut self, payload: &Payload<'_>) {
        let (count, n) = match payload {
            Payload::FunctionSection(r) => (&mut self.funcs, r.count()),
            Payload::TableSection(r) => (&mut self.tables, r.count()),
            Payload::MemorySection(r) => (&mut self.memories, r.count()),
            Payload::GlobalSection(r) => (&mut self.globals, r.count()),
            Payload::TagSection(r) => (&mut self.tags, r.count()),
            _ => return,
        };
        *count += u64::from(n);
    }

    fn export(&mut self, kind: ExternalKind, index: u32) -> Result<(), Unsupported> {
        match kind {
            ExternalKind::FuncExact => Err(Unsupported),
            _ => {
                self.exports.push((kind, index));
                Ok(())
            }
        }
    }

    /// Checks the exports once every section is counted: each index in
    /// range, each name once.
    fn check(&self, module: &Module<'_>) -> Result<(), Unsupported> {
        for &(kind, index) in &self.exports {
            let count = match kind {
                ExternalKind::Func | ExternalKind::FuncExact => self.funcs,
                ExternalKind::Table => self.tables,
                ExternalKind::Memory => self.memories,
                ExternalKind::Global => self.globals,
                ExternalKind::Tag => self.tags,
            };
            if u64::from(index) >= count {
                return Err(Unsupported);
            }
        }
        let mut names = HashSet::with_capacity(module.exports.len());
        match module.exports.iter().all(|(name, _)| names.insert(*name)) {
            true => Ok(()),
            false => Err(Unsupported),
        }
    }
}

/// Appends `value` as an unsigned LEB128.
fn push_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        CodeSection, ComponentBuilder, ComponentExportKind, ComponentValType, EntityType,
        ExportKind, ExportSection, Function, FunctionSection, ImportSection, Instruction as I,
        ModuleArg, PrimitiveValType, TypeSection, ValType,
    };

    /// A module of functions returning a constant, `(export name, value)`
    /// each, importing `imports` (functions of the same type) first.
    fn module(imports: &[(&str, &str)], funcs: &[(&str, i32)]) -> wasm_encoder::Module {
        let mut types = TypeSection::new();
        types.ty().function([], [ValType::I32]);
        let mut import_section = ImportSection::new();
        for (module, field) in imports {
            import_section.import(module, field, EntityType::Function(0));
        }
        let mut functions = FunctionSection::new();
        let mut exports = ExportSection::new();
        let mut code = CodeSection::new();
        for (i, (name, value)) in funcs.iter().enumerate() {
            functions.function(0);
            let index = (imports.len() + i) as u32;
            exports.export(name, ExportKind::Func, index);
            let mut body = Function::new([]);
            body.instruction(&I::I32Const(*value));
            // The first function adds what the first import returns.
            if i == 0 && !imports.is_empty() {
                body.instruction(&I::Call(0)).instruction(&I::I32Add);
            }
            code.function(body.instruction(&I::End));
        }
        let mut module = wasm_encoder::Module::new();
        module.section(&types);
        if !imports.is_empty() {
            module.section(&import_section);
        }
        module.section(&functions).section(&exports).section(&code);
        module
    }

    /// `lib` exports f, g and h; `app` imports lib's f and exports run
    /// (f + 10) and unused; the component exports run and lib's g.
    fn linked(lib: &wasm_encoder::Module) -> Vec<u8> {
        let mut b = ComponentBuilder::default();
        let (ty, mut encoder) = b.type_function(None);
        encoder
            .params([] as [(&str, ComponentValType); 0])
            .result(Some(ComponentValType::Primitive(PrimitiveValType::S32)));
        let lib = b.core_module(None, lib);
        let app = b.core_module(
            None,
            &module(&[("lib", "f")], &[("run", 10), ("unused", 0)]),
        );
        let lib = b.core_instantiate(None, lib, []);
        let app = b.core_instantiate(None, app, [("lib", ModuleArg::Instance(lib))]);
        for (instance, name) in [(app, "run"), (lib, "g")] {
            let core = b.core_alias_export(None, instance, name, ExportKind::Func);
            let lifted = b.lift_func(None, core, ty, []);
            b.export(name, ComponentExportKind::Func, lifted, None);
        }
        b.finish()
    }

    fn lib() -> wasm_encoder::Module {
        module(&[], &[("f", 1), ("g", 2), ("h", 3)])
    }

    fn export_names<'a>(bytes: &'a [u8]) -> Vec<Vec<&'a str>> {
        let survey = Survey::read(bytes).ok().flatten().expect("a component");
        let names = |m: Module<'a>| m.exports.into_iter().map(|(name, _)| name).collect();
        survey.modules.into_iter().map(names).collect()
    }

    fn call(engine: &wasmtime::Engine, bytes: &[u8], name: &str) -> i32 {
        use wasmtime::component::{Component, Linker};
        let component = Component::new(engine, bytes).expect("compiles");
        let mut store = wasmtime::Store::new(engine, ());
        let instance = Linker::new(engine)
            .instantiate(&mut store, &component)
            .expect("instantiates");
        let func = instance
            .get_typed_func::<(), (i32,)>(&mut store, name)
            .expect("exported");
        func.call(&mut store, ()).expect("runs").0
    }

    #[test]
    fn keeps_what_imports_and_aliases_reach_and_runs_the_same() {
        let original = linked(&lib());
        let pruned = prune(&original).expect("h and unused are unreached");
        assert_eq!(
            export_names(&original),
            [vec!["f", "g", "h"], vec!["run", "unused"]]
        );
        assert_eq!(export_names(&pruned), [vec!["f", "g"], vec!["run"]]);
        let engine = wasmtime::Engine::default();
        for name in ["run", "g"] {
            assert_eq!(call(&engine, &pruned, name), call(&engine, &original, name));
        }
        assert_eq!(call(&engine, &pruned, "run"), 11);
    }

    #[test]
    fn leaves_a_component_whose_exports_are_all_reached() {
        let lib = module(&[], &[("f", 1), ("g", 2)]);
        let mut b = ComponentBuilder::default();
        let lib = b.core_module(None, &lib);
        let instance = b.core_instantiate(None, lib, []);
        b.core_alias_export(None, instance, "f", ExportKind::Func);
        b.core_alias_export(None, instance, "g", ExportKind::Func);
        assert_eq!(prune(&b.finish()), None);
    }

    #[test]
    fn leaves_a_component_that_exports_a_module() {
        let mut b = ComponentBuilder::default();
        let lib = b.core_module(None, &lib());
        b.core_instantiate(None, lib, []);
        b.export("lib", ComponentExportKind::Module, lib, None);
        assert_eq!(prune(&b.finish()), None);
    }

    #[test]
    fn leaves_an_invalid_unreached_export_for_wasmtime_to_refuse() {
        let mut lib = lib();
        let mut exports = ExportSection::new();
        exports.export("nowhere", ExportKind::Func, 99);
        lib.section(&exports);
        assert_eq!(prune(&linked(&lib)), None);
        let lib = module(&[], &[("f", 1), ("g", 2), ("f", 3)]);
        assert_eq!(prune(&linked(&lib)), None, "a name exported twice");
    }

    #[test]
    fn a_refused_copy_reports_the_component_as_given() {
        // h (i32.const 3) pushes an i64 instead: invalid, and unreached.
        let mut lib = lib().finish();
        let at = lib
            .windows(2)
            .rposition(|w| w == [0x41, 3])
            .expect("h's i32.const 3");
        lib[at] = 0x42;
        let mut b = ComponentBuilder::default();
        let (ty, mut encoder) = b.type_function(None);
        encoder
            .params([] as [(&str, ComponentValType); 0])
            .result(Some(ComponentValType::Primitive(PrimitiveValType::S32)));
        let lib = b.core_module_raw(None, &lib);
        let instance = b.core_instantiate(None, lib, []);
        let g = b.core_alias_export(None, instance, "g", ExportKind::Func);
        let lifted = b.lift_func(None, g, ty, []);
        b.export("g", ComponentExportKind::Func, lifted, None);
        let original = b.finish();
        let pruned = prune(&original).expect("h is unreached");
        let engine = wasmtime::Engine::default();
        let error = |bytes: &[u8]| format!("{:#}", engine.precompile_component(bytes).unwrap_err());
        assert_ne!(error(&pruned), error(&original), "the offsets differ");
        let reported = super::super::compile::precompile(&engine, &original).unwrap_err();
        assert_eq!(format!("{reported:#}"), error(&original));
    }

    #[test]
    fn leaves_core_modules_and_what_does_not_parse() {
        let core = lib().finish();
        assert_eq!(prune(&core), None);
        let component = linked(&lib());
        for cut in [9, component.len() / 2, component.len() - 1] {
            assert_eq!(prune(&component[..cut]), None, "cut at {cut}");
        }
        assert_eq!(prune(b"not wasm"), None);
    }
}
